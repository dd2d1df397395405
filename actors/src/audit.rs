//! The audit trail: who did what to which record, when, from where, and how it ended.
//!
//! An administrative write runs inside [`record`]: while it runs, every transactional store
//! script it executes carries the event (`UPSERT` of one record id, see `store::db`), so a write
//! and its event commit together or not at all. What ends without such a write — a refusal, a
//! permission denial, a failed sign-in — is appended on its own by the [`AuditSink`]. Events
//! never carry secrets: no passwords, tokens, keys or request bodies.

use std::cell::RefCell;
use std::future::Future;
use std::net::IpAddr;
use std::sync::OnceLock;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::error::DomainError;
use crate::model::{CredentialKind, Kind, Principal, TenantId};
use crate::store::Store;

/// Where a request came from, as the HTTP layer saw it; carried by the principal so that every
/// event names the client address and request id.
#[derive(Debug, Clone, Default)]
pub struct RequestOrigin {
    pub client: Option<IpAddr>,
    pub request_id: Option<String>,
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuditActor {
    /// A user signed in with a session token or cookie.
    User { user_id: String },
    /// A user's `sk_` API key (SCIM provisioning clients use these).
    ApiKey { user_id: String, api_key_id: String },
    /// Someone not (yet) signed in: a sign-in attempt.
    Anonymous,
    /// The operator on the database (the CLI) or Tessera itself (purges, start-up).
    System,
}

/// How the attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Success,
    /// Refused by a permission check.
    Denied,
    /// Refused for any other reason (bad input, conflict, wrong password, outage).
    Failure,
}

impl AuditOutcome {
    /// The stored and queried name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Failure => "failure",
        }
    }

    /// Parses a stored or queried name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "success" => Some(AuditOutcome::Success),
            "denied" => Some(AuditOutcome::Denied),
            "failure" => Some(AuditOutcome::Failure),
            _ => None,
        }
    }

    /// The outcome a failed attempt ended with.
    pub fn of_error(error: &DomainError) -> Self {
        match error {
            DomainError::Forbidden => AuditOutcome::Denied,
            _ => AuditOutcome::Failure,
        }
    }
}

/// One event of the audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    /// A time-ordered UUID (v7): with the time, the event's place in its tenant's trail.
    pub id: Uuid,
    #[serde(serialize_with = "tenant_id")]
    pub tenant: TenantId,
    pub at: DateTime<Utc>,
    pub actor: AuditActor,
    /// The IAM action name (`users:UpdateUser`), or `sign-in:<Method>` for sign-ins.
    pub action: String,
    /// The SRN of the record acted on (`srn:<tenant>:user:usr_…`), or of its collection.
    pub target: String,
    pub outcome: AuditOutcome,
    pub client: Option<String>,
    pub request_id: Option<String>,
}

fn tenant_id<S: serde::Serializer>(tenant: &TenantId, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(tenant.as_str())
}

impl AuditEvent {
    /// An event for `principal` doing `action` to `target`, assumed to succeed.
    pub fn by(principal: &Principal, action: &str, target: String) -> Self {
        let user_id = Kind::User.public_id(principal.user.id);
        let actor = match principal.credential {
            CredentialKind::Session(_) => AuditActor::User { user_id },
            CredentialKind::ApiKey(key) => AuditActor::ApiKey { user_id, api_key_id: Kind::ApiKey.public_id(key) },
        };
        AuditEvent::new(principal.tenant.clone(), actor, action, target, &principal.origin)
    }

    /// An event for any actor.
    pub fn new(tenant: TenantId, actor: AuditActor, action: &str, target: String, origin: &RequestOrigin) -> Self {
        AuditEvent {
            id: Uuid::now_v7(),
            tenant,
            // Microseconds, as a cursor carries them.
            at: Utc::now().trunc_subsecs(6),
            actor,
            action: action.to_owned(),
            target,
            outcome: AuditOutcome::Success,
            client: origin.client.map(|client| client.to_string()),
            request_id: origin.request_id.clone(),
        }
    }
}

/// A page boundary: the (time, id) of the last event a page showed, as the opaque token
/// `<microseconds>_<id hex>` that the next request sends back.
pub fn cursor_of(event: &AuditEvent) -> String {
    format!("{}_{}", event.at.timestamp_micros(), event.id.simple())
}

/// Reads a token of [`cursor_of`]; `None` for anything else. Only exactly the shape handed out
/// is read (microseconds since 1970 in 1 to 18 digits, `_`, the id as 32 lowercase hex digits;
/// the pattern the OpenAPI document gives), not whatever else `parse` would accept (a sign,
/// uppercase or hyphenated ids).
pub fn parse_cursor(cursor: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (micros, id) = cursor.split_once('_')?;
    let shaped = (1..=18).contains(&micros.len())
        && micros.bytes().all(|byte| byte.is_ascii_digit())
        && id.len() == 32
        && id.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    if !shaped {
        return None;
    }
    let at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
    Some((at, Uuid::try_parse(id).ok()?))
}

/// The events of the write in progress (one, or one per record of a batch), and whether a
/// transaction has carried them yet.
pub(crate) struct Pending {
    pub(crate) events: Vec<AuditEvent>,
    pub(crate) carried: bool,
}

tokio::task_local! {
    /// The events of the administrative write this task is running, if any.
    static PENDING: RefCell<Option<Pending>>;
}

/// The events a transactional store script should carry now (marking them carried), if the
/// running task is inside [`record`].
pub(crate) fn events_to_carry() -> Option<Vec<AuditEvent>> {
    PENDING
        .try_with(|pending| {
            let mut pending = pending.borrow_mut();
            let pending = pending.as_mut()?;
            pending.carried = true;
            Some(pending.events.clone())
        })
        .ok()
        .flatten()
}

/// Applies `change` to the write in progress, if there is one; `false` when there is none.
fn with_pending(change: impl FnOnce(&mut Pending)) -> bool {
    PENDING
        .try_with(|pending| match pending.borrow_mut().as_mut() {
            Some(pending) => {
                change(pending);
                true
            }
            None => false,
        })
        .unwrap_or(false)
}

/// Names the record a write in progress acts on, once it is known (a create's new id).
pub fn set_target(target: String) {
    with_pending(|pending| {
        if let [event] = pending.events.as_mut_slice() {
            event.target = target;
        }
    });
}

/// Names the records a batch write creates: one event each (the same actor, action and
/// origin), carried by the batch's transaction together.
pub fn set_targets(targets: Vec<String>) {
    with_pending(|pending| {
        let Some(template) = pending.events.first().cloned() else { return };
        pending.events =
            targets.into_iter().map(|target| AuditEvent { id: Uuid::now_v7(), target, ..template.clone() }).collect();
    });
}

/// A permission check passed inside a write: the resource it checked is what the write's
/// event names, when the check was for the write's own action.
pub(crate) fn checked(action: &str, resource: &str) {
    with_pending(|pending| {
        if let [event] = pending.events.as_mut_slice() {
            if event.action == action {
                resource.clone_into(&mut event.target);
            }
        }
    });
}

/// Marks the write in progress as denied, if there is one; `false` when there is none (the
/// denial is then recorded on its own).
fn deny_pending(resource: &str) -> bool {
    with_pending(|pending| {
        for event in &mut pending.events {
            event.outcome = AuditOutcome::Denied;
            resource.clone_into(&mut event.target);
        }
    })
}

/// Runs an administrative write with its event: carried by the write's transaction when it
/// succeeds, else appended with the outcome the write ended with.
pub async fn record<T>(
    event: AuditEvent,
    work: impl Future<Output = Result<T, DomainError>>,
) -> Result<T, DomainError> {
    let cell = RefCell::new(Some(Pending { events: vec![event], carried: false }));
    let (result, pending) = PENDING
        .scope(cell, async {
            let result = work.await;
            (result, PENDING.with(|pending| pending.borrow_mut().take()))
        })
        .await;
    let Some(Pending { events, carried }) = pending else { return result };
    for mut event in events {
        match &result {
            Ok(_) if carried => sink_stream(&event),
            Ok(_) => emit(event),
            Err(error) => {
                if event.outcome != AuditOutcome::Denied {
                    event.outcome = AuditOutcome::of_error(error);
                }
                emit(event);
            }
        }
    }
    result
}

/// A permission denial: recorded with the write in progress, or on its own.
pub fn denied(principal: &Principal, action: &str, resource: &str) {
    if !deny_pending(resource) {
        let mut event = AuditEvent::by(principal, action, resource.to_owned());
        event.outcome = AuditOutcome::Denied;
        emit(event);
    }
}

/// A sign-in ended: `user` is who signed in (on success). Recorded on its own; the action is
/// `sign-in:Password`, `sign-in:OIDC` or `sign-in:SAML`.
pub fn sign_in<T>(
    tenant: &TenantId,
    action: &str,
    origin: &RequestOrigin,
    user: Option<Uuid>,
    result: &Result<T, DomainError>,
) {
    let (actor, target) = match user {
        Some(user) => {
            let user_id = Kind::User.public_id(user);
            (AuditActor::User { user_id }, Kind::User.srn(tenant, user))
        }
        None => (AuditActor::Anonymous, Kind::User.srn_all(tenant)),
    };
    let mut event = AuditEvent::new(tenant.clone(), actor, action, target, origin);
    if let Err(error) = result {
        event.outcome = AuditOutcome::of_error(error);
    }
    emit(event);
}

/// `[audit]`: how long events are kept and whether they are also streamed.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditSettings {
    /// Events older than this many days are deleted (hourly); 0 keeps them forever.
    pub retention_days: u32,
    /// Every event is also written to stdout as one JSON line, for log shippers.
    pub stdout: bool,
}

/// Appends events that no write carried (in order, off the request path) and streams every
/// event to stdout as JSON lines when asked.
pub struct AuditSink {
    queue: mpsc::Sender<AuditEvent>,
    stdout: bool,
}

static SINK: OnceLock<AuditSink> = OnceLock::new();

/// How many events may wait for the store before new ones are dropped (and counted).
const QUEUE: usize = 10_000;

/// Starts the sink for this process (once; later calls keep the first) and, with a
/// retention, the hourly purge of older events.
pub fn install(store: Store, settings: AuditSettings) {
    let (queue, mut events) = mpsc::channel::<AuditEvent>(QUEUE);
    if SINK.set(AuditSink { queue, stdout: settings.stdout }).is_err() {
        return;
    }
    let appender = store.clone();
    actix::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Err(error) = appender.append_audit_event(&event).await {
                tracing::warn!(%error, action = %event.action, "an audit event could not be stored");
            }
        }
    });
    if settings.retention_days == 0 {
        return;
    }
    let retention = chrono::Duration::days(i64::from(settings.retention_days));
    actix::spawn(async move {
        let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            hourly.tick().await;
            match store.purge_audit_events(Utc::now() - retention).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged audit events past their retention"),
                Err(error) => tracing::warn!(%error, "purging audit events failed"),
            }
        }
    });
}

fn sink_stream(event: &AuditEvent) {
    if SINK.get().is_some_and(|sink| sink.stdout) {
        if let Ok(line) = serde_json::to_string(event) {
            println!("{line}");
        }
    }
}

/// Appends an event on its own (streamed to stdout too when asked).
pub fn emit(event: AuditEvent) {
    let Some(sink) = SINK.get() else { return };
    sink_stream(&event);
    if let Err(error) = sink.queue.try_send(event) {
        crate::metrics::audit_dropped();
        tracing::error!(%error, "the audit queue is full; an event was dropped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_and_denials_are_their_own() {
        for outcome in [AuditOutcome::Success, AuditOutcome::Denied, AuditOutcome::Failure] {
            assert_eq!(AuditOutcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(AuditOutcome::of_error(&DomainError::Forbidden), AuditOutcome::Denied);
        assert_eq!(AuditOutcome::of_error(&DomainError::NotFound), AuditOutcome::Failure);
    }

    #[tokio::test]
    async fn a_write_in_progress_hands_its_event_to_one_transaction_at_a_time() {
        assert!(events_to_carry().is_none(), "outside a write nothing is carried");
        let event = AuditEvent::new(
            TenantId::default_tenant(),
            AuditActor::System,
            "users:CreateUser",
            "srn:default:user:*".into(),
            &RequestOrigin::default(),
        );
        let id = event.id;
        let result: Result<(), DomainError> = record(event, async {
            set_target("srn:default:user:usr_1".into());
            let carried = events_to_carry().expect("inside a write");
            assert_eq!((carried[0].id, carried[0].target.as_str()), (id, "srn:default:user:usr_1"));
            set_targets(vec!["srn:default:user:usr_2".into(), "srn:default:user:usr_3".into()]);
            let batch = events_to_carry().expect("inside a write");
            assert_eq!(batch.len(), 2);
            assert!(batch[0].id != batch[1].id && batch.iter().all(|event| event.action == "users:CreateUser"));
            Ok(())
        })
        .await;
        assert!(result.is_ok());
    }
}

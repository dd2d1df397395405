//! `POST /Bulk` (RFC 7644 §3.7): operations applied in order, each as its own request would be,
//! an operation that names a `bulkId` created later in the request deferred until it exists,
//! processing stopped after `failOnErrors` errors.

use std::collections::HashMap;

use actix::{Context, Handler, Message, ResponseFuture};
use uuid::Uuid;

use super::scim::{create, create_users, modify, remove, ScimContext, ScimWrite};
use super::ProvisioningActor;
use crate::error::DomainError;
use crate::scim::{bulk_target, parse_etags, references, substitute, BulkMethod, BulkOperation, BulkRequest};

/// How many user creations share one transaction.
const BATCH: usize = 250;

/// A parsed BulkRequest to apply.
#[derive(Message)]
#[rtype(result = "Result<Vec<BulkOutcome>, DomainError>")]
pub struct ScimBulk {
    pub context: ScimContext,
    pub request: BulkRequest,
}

/// What became of one operation, in request order (operations never reached are left out).
#[derive(Debug)]
pub struct BulkOutcome {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    /// The resource's location and version, for operations that left one.
    pub location: Option<String>,
    pub version: Option<u64>,
    /// The operation's own result: the status of success, or the error a request would get.
    pub result: Result<u16, DomainError>,
}

impl Handler<ScimBulk> for ProvisioningActor {
    type Result = ResponseFuture<Result<Vec<BulkOutcome>, DomainError>>;

    fn handle(&mut self, message: ScimBulk, _: &mut Context<Self>) -> Self::Result {
        let (store, users) = (self.store.clone(), self.users.clone());
        let attempt = async move {
            let ScimBulk { context, request } = message;
            let mut created: HashMap<String, String> = HashMap::new();
            let mut outcomes: Vec<Option<BulkOutcome>> = request.operations.iter().map(|_| None).collect();
            let mut pending: Vec<usize> = (0..request.operations.len()).collect();
            let mut errors = 0;
            // User creations that name no bulkId go to the database in batches, one transaction
            // each; a batch that is refused (a name taken) is left to the passes below, which
            // create its users one by one and report each refusal on its own operation.
            let batchable: Vec<usize> = (0..request.operations.len())
                .filter(|&index| {
                    let operation = &request.operations[index];
                    operation.method == BulkMethod::Post
                        && operation.path.trim().trim_end_matches('/') == "/Users"
                        && references(&operation.path, operation.data.as_ref()).is_empty()
                })
                .collect();
            for chunk in batchable.chunks(BATCH) {
                let bodies: Vec<&serde_json::Value> =
                    chunk.iter().filter_map(|&index| request.operations[index].data.as_ref()).collect();
                if bodies.len() != chunk.len() {
                    continue;
                }
                let Ok(resources) = create_users(&users, &context, &bodies).await else { continue };
                for (&index, resource) in chunk.iter().zip(resources) {
                    let operation = &request.operations[index];
                    let location = resource.resource["meta"]["location"].as_str().map(str::to_owned);
                    if let (Some(bulk_id), Some(location)) = (&operation.bulk_id, &location) {
                        created.insert(bulk_id.clone(), location.rsplit('/').next().unwrap_or_default().to_owned());
                    }
                    outcomes[index] = Some(BulkOutcome {
                        method: operation.method,
                        bulk_id: operation.bulk_id.clone(),
                        location,
                        version: Some(resource.version),
                        result: Ok(201),
                    });
                }
            }
            pending.retain(|&index| outcomes[index].is_none());
            // Each pass applies every operation whose references are resolved; one that names a
            // bulkId created later waits for a later pass (RFC 7644 §3.7.2).
            'passes: while !pending.is_empty() {
                let before = pending.len();
                let mut waiting = Vec::new();
                for index in pending {
                    let operation = &request.operations[index];
                    if references(&operation.path, operation.data.as_ref()).iter().any(|id| !created.contains_key(id)) {
                        waiting.push(index);
                        continue;
                    }
                    let outcome = apply(&store, &users, &context, operation, &created).await;
                    if let (Some(bulk_id), Some(location), true) =
                        (&operation.bulk_id, &outcome.location, operation.method == BulkMethod::Post)
                    {
                        let id = location.rsplit('/').next().unwrap_or_default().to_owned();
                        created.insert(bulk_id.clone(), id);
                    }
                    if outcome.result.is_err() {
                        errors += 1;
                    }
                    outcomes[index] = Some(outcome);
                    if request.fail_on_errors.is_some_and(|limit| errors >= limit) {
                        break 'passes;
                    }
                }
                if waiting.len() == before {
                    // No progress: what is left refers to bulkIds that are never created.
                    for index in waiting {
                        outcomes[index] = Some(unresolved(&request.operations[index]));
                    }
                    break;
                }
                pending = waiting;
            }
            Ok(outcomes.into_iter().flatten().collect())
        };
        Box::pin(crate::metrics::observe(attempt, |result| crate::metrics::scim_operation("Bulk", "bulk", result)))
    }
}

fn unresolved(operation: &BulkOperation) -> BulkOutcome {
    let problem = crate::scim::ScimProblem {
        status: 409,
        scim_type: Some(crate::scim::ScimType::InvalidValue),
        detail: "it refers to a bulkId that no operation of this request created".to_owned(),
    };
    BulkOutcome {
        method: operation.method,
        bulk_id: operation.bulk_id.clone(),
        location: None,
        version: None,
        result: Err(DomainError::Scim(problem)),
    }
}

async fn apply(
    store: &crate::store::Store,
    users: &actix::Addr<crate::user_actor::UserActor>,
    context: &ScimContext,
    operation: &BulkOperation,
    created: &HashMap<String, String>,
) -> BulkOutcome {
    let (path, data) = substitute(&operation.path, operation.data.as_ref(), created);
    let mut outcome = BulkOutcome {
        method: operation.method,
        bulk_id: operation.bulk_id.clone(),
        location: None,
        version: None,
        result: Ok(200),
    };
    let result = async {
        let target = bulk_target(operation.method, &path)?;
        let id = match &target.id {
            Some(id) => Some(Uuid::try_parse(id).map_err(|_| DomainError::NotFound)?),
            None => None,
        };
        let if_match = operation.version.as_deref().map(parse_etags);
        let data = data.unwrap_or(serde_json::Value::Null);
        let (resource, status) = match (operation.method, id) {
            (BulkMethod::Post, _) => (Some(create(store, users, context, target.kind, &data).await?), 201),
            (BulkMethod::Put, Some(id)) => {
                let write = ScimWrite::Replace(data);
                (Some(modify(store, users, context, target.kind, id, &write, if_match.as_ref()).await?), 200)
            }
            (BulkMethod::Patch, Some(id)) => {
                let write = ScimWrite::Patch(data);
                (Some(modify(store, users, context, target.kind, id, &write, if_match.as_ref()).await?), 200)
            }
            (BulkMethod::Delete, Some(id)) => {
                remove(store, users, context, target.kind, id, if_match.as_ref()).await?;
                (None, 204)
            }
            (_, None) => return Err(DomainError::NotFound),
        };
        Ok::<_, DomainError>((resource, status))
    }
    .await;
    match result {
        Ok((resource, status)) => {
            if let Some(resource) = resource {
                outcome.location = resource.resource["meta"]["location"].as_str().map(str::to_owned);
                outcome.version = Some(resource.version);
            }
            outcome.result = Ok(status);
        }
        Err(error) => outcome.result = Err(error),
    }
    outcome
}

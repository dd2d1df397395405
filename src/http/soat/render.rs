//! SOAT's JSON records.

use actix_web::http::header;
use actix_web::HttpResponse;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tessera_actors::scim::etag;
use tessera_actors::{Role, Session, User};

use tessera_actors::model::{ApiKey, Group, Kind, Policy};

/// ISO 8601 as JavaScript's `toISOString` writes it.
pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// SOAT's role names.
pub fn role(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Unprivileged => "user",
    }
}

/// `UserRecord`.
#[derive(Serialize)]
pub struct UserRecord {
    id: String,
    username: String,
    role: &'static str,
    created_at: String,
    updated_at: String,
}

impl From<&User> for UserRecord {
    fn from(user: &User) -> Self {
        UserRecord {
            id: Kind::User.public_id(user.id),
            username: user.username.clone(),
            role: role(user.role),
            created_at: iso(user.created_at),
            updated_at: iso(user.updated_at),
        }
    }
}

/// A session as listed by `/api/v1/sessions`.
#[derive(Serialize)]
pub struct SessionRecord {
    id: String,
    user_id: String,
    method: String,
    created_at: String,
    expires_at: String,
}

impl From<&Session> for SessionRecord {
    fn from(session: &Session) -> Self {
        SessionRecord {
            id: Kind::Session.public_id(session.id),
            user_id: Kind::User.public_id(session.user_id),
            method: session.method.clone(),
            created_at: iso(session.created_at),
            expires_at: iso(session.expires_at),
        }
    }
}

fn public_ids(kind: Kind, ids: &[uuid::Uuid]) -> Vec<String> {
    ids.iter().map(|id| kind.public_id(*id)).collect()
}

/// `PolicyRecord`.
#[derive(Serialize)]
pub struct PolicyRecord<'a> {
    id: String,
    name: &'a str,
    description: Option<&'a str>,
    document: &'a tessera_actors::policy::PolicyDocument,
    created_at: String,
    updated_at: String,
}

impl<'a> From<&'a Policy> for PolicyRecord<'a> {
    fn from(policy: &'a Policy) -> Self {
        PolicyRecord {
            id: Kind::Policy.public_id(policy.id),
            name: &policy.name,
            description: policy.description.as_deref(),
            document: &policy.document,
            created_at: iso(policy.created_at),
            updated_at: iso(policy.updated_at),
        }
    }
}

/// A policy as listed on a user or group: `{id, name, description}`.
#[derive(Serialize)]
pub struct PolicySummary<'a> {
    id: String,
    name: &'a str,
    description: Option<&'a str>,
}

impl<'a> From<&'a Policy> for PolicySummary<'a> {
    fn from(policy: &'a Policy) -> Self {
        PolicySummary {
            id: Kind::Policy.public_id(policy.id),
            name: &policy.name,
            description: policy.description.as_deref(),
        }
    }
}

impl PolicySummary<'_> {
    /// The answer to `GET …/policies`: the attached policies, tagged with the list's version for
    /// a later `If-Match` replacement.
    pub fn list_response(policies: &[Policy], version: u64) -> HttpResponse {
        HttpResponse::Ok()
            .insert_header((header::ETAG, etag(version)))
            .json(policies.iter().map(PolicySummary::from).collect::<Vec<_>>())
    }
}

/// `GroupRecord`.
#[derive(Serialize)]
pub struct GroupRecord<'a> {
    id: String,
    name: &'a str,
    description: Option<&'a str>,
    member_ids: Vec<String>,
    created_at: String,
    updated_at: String,
}

impl<'a> From<&'a Group> for GroupRecord<'a> {
    fn from(group: &'a Group) -> Self {
        GroupRecord {
            id: Kind::Group.public_id(group.id),
            name: &group.name,
            description: group.description.as_deref(),
            member_ids: public_ids(Kind::User, &group.members),
            created_at: iso(group.created_at),
            updated_at: iso(group.updated_at),
        }
    }
}

/// `ApiKeyRecord`; `key` is set only in the creation response.
#[derive(Serialize)]
pub struct ApiKeyRecord<'a> {
    id: String,
    name: &'a str,
    key_prefix: &'a str,
    user_id: String,
    project_id: Option<String>,
    policy_ids: Vec<String>,
    expires_at: Option<String>,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
}

impl<'a> ApiKeyRecord<'a> {
    /// The record, with the raw key when it is being shown for the only time.
    pub fn new(key: &'a ApiKey, raw: Option<&'a str>) -> Self {
        ApiKeyRecord {
            id: Kind::ApiKey.public_id(key.id),
            name: &key.name,
            key_prefix: &key.key_prefix,
            user_id: Kind::User.public_id(key.user_id),
            project_id: None,
            policy_ids: public_ids(Kind::Policy, &key.policy_ids),
            expires_at: key.expires_at.map(iso),
            created_at: iso(key.created_at),
            updated_at: iso(key.updated_at),
            key: raw,
        }
    }
}

/// A linked upstream identity: `{id:"idn_…", provider, issuer, subject, created_at}`.
#[derive(Serialize)]
pub struct IdentityRecord<'a> {
    id: String,
    provider: Option<&'a str>,
    issuer: &'a str,
    subject: &'a str,
    created_at: String,
}

impl<'a> From<&'a tessera_actors::model::LinkedIdentity> for IdentityRecord<'a> {
    fn from(identity: &'a tessera_actors::model::LinkedIdentity) -> Self {
        IdentityRecord {
            id: identity.public_id(),
            provider: identity.provider.as_deref(),
            issuer: &identity.issuer,
            subject: &identity.subject,
            created_at: iso(identity.created_at),
        }
    }
}

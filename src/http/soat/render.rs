//! SOAT's JSON records.

use actix_web::http::header;
use actix_web::HttpResponse;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tessera_actors::scim::etag;
use tessera_actors::{Role, Session, User, UserSummary};
use utoipa::ToSchema;

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
#[derive(Serialize, ToSchema)]
pub struct UserRecord {
    /// `usr_` and 32 hex digits.
    id: String,
    username: String,
    #[schema(value_type = crate::http::openapi::soat::SoatRole)]
    role: &'static str,
    /// ISO 8601 with milliseconds.
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl From<&User> for UserRecord {
    fn from(user: &User) -> Self {
        UserRecord::from(&UserSummary::from(user))
    }
}

impl From<&UserSummary> for UserRecord {
    fn from(user: &UserSummary) -> Self {
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
#[derive(Serialize, ToSchema)]
pub struct SessionRecord {
    /// `ses_` and 32 hex digits.
    id: String,
    /// `usr_` and 32 hex digits.
    user_id: String,
    /// How it was opened: `email` (password) or the provider's id.
    method: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
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
#[derive(Serialize, ToSchema)]
pub struct PolicyRecord<'a> {
    /// `pol_` and 32 hex digits.
    id: String,
    name: &'a str,
    #[schema(required = true)]
    description: Option<&'a str>,
    #[schema(value_type = crate::http::openapi::soat::PolicyDocument)]
    document: &'a tessera_actors::policy::PolicyDocument,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
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
#[derive(Serialize, ToSchema)]
pub struct PolicySummary<'a> {
    /// `pol_` and 32 hex digits.
    id: String,
    name: &'a str,
    #[schema(required = true)]
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
#[derive(Serialize, ToSchema)]
pub struct GroupRecord<'a> {
    /// `grp_` and 32 hex digits.
    id: String,
    name: &'a str,
    #[schema(required = true)]
    description: Option<&'a str>,
    /// The members, `usr_…` ids.
    member_ids: Vec<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
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
#[derive(Serialize, ToSchema)]
pub struct ApiKeyRecord<'a> {
    /// `key_` and 32 hex digits.
    id: String,
    name: &'a str,
    /// The first characters of the key, to recognise it.
    key_prefix: &'a str,
    /// The owner, `usr_…`.
    user_id: String,
    /// Always `null` (SOAT compatibility).
    #[schema(required = true)]
    project_id: Option<String>,
    /// The policies narrowing the key, `pol_…`; none: it acts as its owner.
    policy_ids: Vec<String>,
    #[schema(required = true, format = DateTime)]
    expires_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// The key itself, `sk_…`: only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
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
#[derive(Serialize, ToSchema)]
pub struct IdentityRecord<'a> {
    /// `idn_…`.
    id: String,
    /// The provider's id.
    #[schema(required = true)]
    provider: Option<&'a str>,
    /// The OIDC issuer or SAML IdP entity id.
    issuer: &'a str,
    /// The OIDC `sub` or SAML NameID.
    subject: &'a str,
    #[schema(format = DateTime)]
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

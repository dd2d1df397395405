//! The SOAT dialect (`/api/v1`) and the tenant API: request bodies as the handlers read them
//! (`Fields`: a JSON object; an optional string may be `null`, which reads as absent; unknown
//! keys are ignored), the answers built inline, and the error responses.

// These types describe the wire format for the document; the handlers read and write it by hand.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::ToSchema;

use super::error_responses;

/// SOAT's error body: `{"error": "<message>"}`; an invalid policy document also lists every
/// problem in `details`.
#[derive(Deserialize, ToSchema)]
#[schema(as = SoatError)]
pub struct SoatErrorBody {
    /// What went wrong, e.g. `Forbidden`, `User not found`, `username: can't be blank`.
    pub error: String,
    /// For `Invalid policy document`: one line per problem, e.g.
    /// `statement[0].effect: must be one of Allow, Deny`.
    #[serde(default)]
    pub details: Vec<String>,
}

error_responses! {
    /// 400 in SOAT's shape.
    SoatBadRequest => ("The request is invalid: malformed JSON, a body that is not an object, a field of the \
        wrong type, or a value the rules refuse (`{\"error\": \"…\"}`; an invalid policy document lists every \
        problem in `details`).", "SoatError", "application/json");
    /// 401 in SOAT's shape.
    SoatUnauthorized => ("No valid credential: none was sent, or the token or key is invalid, expired, revoked, \
        of another tenant, or its user is deleted or disabled (`{\"error\": \"Unauthorized\"}`; \
        `Invalid credentials` / `User is disabled` for a sign-in).", "SoatError", "application/json");
    /// 403 in SOAT's shape.
    SoatForbidden => ("The caller's policies do not allow this action on this resource \
        (`{\"error\": \"Forbidden\"}`).", "SoatError", "application/json");
    /// 404 in SOAT's shape.
    SoatNotFound => ("No such record in this tenant (`{\"error\": \"User not found\"}` and the like), or no such \
        tenant.", "SoatError", "application/json");
    /// 409 in SOAT's shape.
    SoatConflict => ("The request conflicts with the stored records: a name already taken, the last admin, too \
        many API keys, an identity already linked, or a concurrent change (`Modified concurrently, retry`).",
        "SoatError", "application/json");
    /// 412 in SOAT's shape.
    SoatPreconditionFailed => ("`If-Match` named a version the record no longer has \
        (`{\"error\": \"Precondition failed: …\"}`).", "SoatError", "application/json");
    /// 413 in SOAT's shape.
    SoatPayloadTooLarge => ("The body is larger than `server.max_body_bytes` \
        (`{\"error\": \"Request body too large\"}`).", "SoatError", "application/json");
    /// 429 in SOAT's shape.
    SoatTooManyRequests => ("Too many failed sign-ins for this username or from this address; retry after \
        `Retry-After` seconds.", "SoatError", "application/json",
        "Retry-After": "Seconds to wait before retrying.");
    /// 503 in SOAT's shape.
    SoatUnavailable => ("The database or an internal worker is unavailable, or too many sign-ins are being \
        checked; retry after `Retry-After` seconds. A credential is never refused for this reason.",
        "SoatError", "application/json", "Retry-After": "Seconds to wait before retrying.");
}

/// SOAT's role names.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SoatRole {
    /// May do everything in the tenant.
    Admin,
    /// May do what its policies (and its groups' policies) allow.
    User,
}

/// `{username, password}`: the first admin (`/users/bootstrap`) or a sign-in (`/users/login`).
#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    /// The username (case-insensitive, unique in the tenant; at most 254 bytes).
    pub username: String,
    /// The password: 8–128 characters for a new user (or the tenant's `password_min_length`).
    pub password: String,
}

/// `POST /api/v1/users`: a new user; `role` defaults to `user`.
#[derive(Deserialize, ToSchema)]
pub struct CreateUserBody {
    /// The username (case-insensitive, unique in the tenant; at most 254 bytes; surrounding
    /// whitespace is trimmed, none inside, no control characters).
    #[schema(pattern = "^\\s*[^\\s\\u0000-\\u001f\\u007f-\\u009f]+\\s*$", max_length = 254)]
    pub username: String,
    /// 8–128 characters (or the tenant's `password_min_length`).
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// `admin` (only an admin may create one) or `user` (the default).
    pub role: Option<SoatRole>,
}

/// The answer to a sign-in: the user and its new session's token.
#[derive(Deserialize, ToSchema)]
pub struct LoginResponse {
    /// `usr_` and 32 hex digits.
    pub id: String,
    pub username: String,
    pub role: SoatRole,
    /// The session token, a bearer credential on every dialect until the session ends.
    pub token: String,
}

/// `GET /api/v1/users/me`: the caller.
#[derive(Deserialize, ToSchema)]
pub struct MeResponse {
    /// `usr_` and 32 hex digits.
    pub id: String,
    pub username: String,
    pub role: SoatRole,
}

/// `GET /api/v1/permissions`: the action catalog.
#[derive(Deserialize, ToSchema)]
pub struct PermissionsResponse {
    /// Every action, `module:Operation`.
    pub actions: Vec<String>,
    /// Each module's operations.
    pub modules: BTreeMap<String, Vec<String>>,
}

/// A policy document: statements that allow or deny actions on resources. Every problem of an
/// invalid one is reported at once (400 with `details`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// The statements (1–100), all of which are considered on every request.
    #[schema(min_items = 1, max_items = 100)]
    pub statement: Vec<PolicyStatement>,
}

/// What a matching statement does; an explicit `Deny` overrides any `Allow`.
#[derive(Deserialize, ToSchema)]
pub enum PolicyEffect {
    Allow,
    Deny,
}

/// Expected value(s) of a condition: one string, or several of which any one may match.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ConditionValue {
    One(String),
    AnyOf(Vec<String>),
}

/// One rule of a policy document.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyStatement {
    pub effect: PolicyEffect,
    /// Action patterns (1–100): `*`, `module:*` or `module:Operation` of the catalog
    /// (`GET /api/v1/permissions`).
    #[schema(min_items = 1, max_items = 100)]
    pub action: Vec<String>,
    /// Resource globs (1–100): `*` or `srn:<tenant>:<type>:<id>` (`*` and `?` match). Absent
    /// means `["*"]`.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 100)]
    pub resource: Vec<String>,
    /// Operator (`StringEquals`, `StringNotEquals`, `StringLike` with `*` and `?`) → context key
    /// (`soat:tenant`, `soat:user_id`, `soat:username`, `soat:role`, `soat:credential`) →
    /// expected value(s); every condition must hold. A missing key makes `StringNotEquals` true
    /// and the others false.
    #[serde(default)]
    pub condition: BTreeMap<String, BTreeMap<String, ConditionValue>>,
}

/// `POST /api/v1/policies`.
#[derive(Deserialize, ToSchema)]
pub struct CreatePolicyBody {
    /// Not blank; at most 128 bytes.
    #[schema(pattern = "\\S", max_length = 128)]
    pub name: String,
    /// At most 1024 bytes.
    #[schema(max_length = 1024)]
    pub description: Option<String>,
    pub document: PolicyDocument,
}

/// `PUT /api/v1/policies/{policy_id}`: an omitted `name` or `description` is kept; `null`
/// clears the description. The document is validated before the policy is looked up.
#[derive(Deserialize, ToSchema)]
pub struct UpdatePolicyBody {
    /// Not blank; at most 128 bytes; absent or `null` keeps the name.
    #[schema(pattern = "\\S", max_length = 128)]
    pub name: Option<String>,
    /// At most 1024 bytes; `null` clears it.
    #[schema(max_length = 1024)]
    pub description: Option<String>,
    pub document: PolicyDocument,
}

/// `PUT …/policies`: the attached policies, replacing the whole list.
#[derive(Deserialize, ToSchema)]
pub struct PolicyIdsBody {
    /// `pol_…` ids (at most 1000); an unknown one is 404 `Policy not found` and changes nothing.
    #[schema(max_items = 1000)]
    pub policy_ids: Vec<String>,
}

/// `POST /api/v1/groups`.
#[derive(Deserialize, ToSchema)]
pub struct CreateGroupBody {
    /// Not blank, at most 128 bytes, unique in the tenant (409 otherwise).
    #[schema(pattern = "\\S", max_length = 128)]
    pub name: String,
    /// At most 1024 bytes.
    #[schema(max_length = 1024)]
    pub description: Option<String>,
    /// The members, `usr_…` ids (at most 1000).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub member_ids: Vec<String>,
}

/// `PUT /api/v1/groups/{group_id}`: changes what it names. `member_ids` replaces the member
/// list; `add_member_ids` / `remove_member_ids` change only the members they name and cannot be
/// combined with `member_ids` (400).
#[derive(Deserialize, ToSchema)]
pub struct UpdateGroupBody {
    /// Not blank; absent or `null` keeps the name.
    #[schema(pattern = "\\S", max_length = 128)]
    pub name: Option<String>,
    /// At most 1024 bytes; `null` clears it.
    #[schema(max_length = 1024)]
    pub description: Option<String>,
    /// The whole member list, `usr_…` ids (at most 1000).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub member_ids: Vec<String>,
    /// Members to add (at most 1000).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub add_member_ids: Vec<String>,
    /// Members to remove (at most 1000).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub remove_member_ids: Vec<String>,
}

/// `POST /api/v1/api-keys`: a key of the caller's own.
#[derive(Deserialize, ToSchema)]
pub struct CreateApiKeyBody {
    /// Not blank; at most 128 bytes.
    #[schema(pattern = "\\S", max_length = 128)]
    pub name: String,
    /// Narrows the key to these policies (`pol_…`, at most 1000); none: the key acts as its owner.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub policy_ids: Vec<String>,
    /// Lifetime in days (1–365); at most the tenant's `api_key_max_lifetime_days` (its default
    /// when absent).
    #[schema(minimum = 1, maximum = 365)]
    pub expires_in_days: Option<i64>,
}

/// `PUT /api/v1/api-keys/{api_key_id}`: applies both fields or neither.
#[derive(Deserialize, ToSchema)]
pub struct UpdateApiKeyBody {
    /// Not blank; at most 128 bytes.
    #[schema(pattern = "\\S", max_length = 128)]
    pub name: Option<String>,
    /// Replaces the key's policies (`pol_…`, at most 1000).
    #[schema(max_items = 1000, nullable = false)]
    pub policy_ids: Option<Vec<String>>,
}

/// `POST /api/v1/users/{user_id}/identities`: links an upstream identity.
#[derive(Deserialize, ToSchema)]
pub struct LinkIdentityBody {
    /// The id of one of the tenant's OIDC or SAML providers (400 for an unknown one).
    pub provider: String,
    /// The OIDC `sub` or SAML NameID (1–1024 bytes).
    #[schema(min_length = 1, max_length = 1024)]
    pub subject: String,
}

/// Tenant settings in a request: each key present changes one setting, `null` returns it to the
/// default; an unknown key is 400.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettingsChange {
    /// Password sign-in (as `/v0/configuration`'s `local_auth_enabled`); not `null`.
    #[schema(nullable = false)]
    pub local_auth_enabled: Option<bool>,
    /// 8–128: the minimum password length on every dialect.
    #[schema(minimum = 8, maximum = 128)]
    pub password_min_length: Option<u32>,
    /// 5–43200: the lifetime of every new session.
    #[schema(minimum = 5, maximum = 43200)]
    pub session_lifetime_minutes: Option<u32>,
    /// 1–365: the longest lifetime of an API key.
    #[schema(minimum = 1, maximum = 365)]
    pub api_key_max_lifetime_days: Option<u32>,
}

/// The first admin of a new tenant.
#[derive(Deserialize, ToSchema)]
pub struct FirstAdmin {
    /// As a user's `username`.
    #[schema(pattern = "^\\s*[^\\s\\u0000-\\u001f\\u007f-\\u009f]+\\s*$", max_length = 254)]
    pub username: String,
    /// 8–128 characters (or the new tenant's `password_min_length`).
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

/// `POST /api/v1/tenants`.
#[derive(Deserialize, ToSchema)]
pub struct CreateTenantBody {
    /// 1–63 lowercase letters, digits and dashes, starting with a letter or digit (409 if
    /// taken, as `default` always is).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub id: String,
    /// 1–200 characters, not blank, without control characters; defaults to the id.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub display_name: Option<String>,
    /// Hostnames that route to the tenant, unique across tenants (409 otherwise); at most 16.
    #[schema(max_items = 16)]
    pub hostnames: Option<Vec<String>>,
    #[schema(nullable = false)]
    pub settings: Option<TenantSettingsChange>,
    /// Without it, the tenant is bootstrapped through its own `/t/{id}/api/v1/users/bootstrap`.
    pub admin: Option<FirstAdmin>,
}

/// `PATCH /api/v1/tenants/{tenant_id}`: changes only what it names.
#[derive(Deserialize, ToSchema)]
pub struct UpdateTenantBody {
    /// 1–200 characters, not blank, without control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub display_name: Option<String>,
    /// Replaces the list (at most 16); released names are free at once.
    #[schema(max_items = 16)]
    pub hostnames: Option<Vec<String>>,
    #[schema(nullable = false)]
    pub settings: Option<TenantSettingsChange>,
}

/// The query of a SOAT list that pages from the store: without either parameter, the whole
/// list (as the pinned clients expect); with them, one page in creation order.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPageQuery {
    /// Items per page, 1–500 (default 100 when only `offset` is given).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// Items to skip, 0–10,000 (default 0).
    #[param(minimum = 0, maximum = 10000)]
    pub offset: Option<u64>,
}

/// The query of `GET /api/v1/audit-events`: every filter optional, all of them applying
/// together; an unknown parameter is 400.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditEventsQuery {
    /// RFC 3339; events at or after it.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// RFC 3339; events before it.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// The acting user or key: `usr_…` or `key_…`.
    pub actor: Option<String>,
    /// An action (`users:UpdateUser`), or every action of a module (`users:*`).
    pub action: Option<String>,
    /// The SRN acted on, e.g. `srn:default:user:usr_…`.
    pub target: Option<String>,
    pub outcome: Option<AuditOutcome>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{1,18}_[0-9a-f]{32}$")]
    pub cursor: Option<String>,
    /// Events per page, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// How an attempt ended: `denied` by a permission check, or a `failure` for any other reason
/// (bad input, conflict, wrong password, outage).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Success,
    Denied,
    Failure,
}

/// Who acted: a signed-in `user`, a user's `api_key`, someone `anonymous` (a sign-in attempt),
/// or the `system` (the operator's CLI, Tessera itself).
#[derive(Deserialize, ToSchema)]
pub struct AuditActor {
    /// `user`, `api_key`, `anonymous` or `system`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(user|api_key|anonymous|system)$")]
    pub kind: String,
    /// `usr_…`, for `user` and `api_key`.
    pub user_id: Option<String>,
    /// `key_…`, for `api_key`.
    pub api_key_id: Option<String>,
}

/// One event of the audit trail; never carries a secret.
#[derive(Deserialize, ToSchema)]
pub struct AuditEvent {
    /// A time-ordered UUID (v7).
    #[schema(format = "uuid")]
    pub id: String,
    pub tenant: String,
    #[schema(format = DateTime)]
    pub at: String,
    pub actor: AuditActor,
    /// The IAM action name (`users:UpdateUser`), or `sign-in:<Method>` for sign-ins.
    pub action: String,
    /// The SRN of the record acted on (`srn:<tenant>:user:usr_…`), or of its collection.
    pub target: String,
    pub outcome: AuditOutcome,
    /// The client address.
    #[schema(required = true)]
    pub client: Option<String>,
    /// The request's `X-Request-Id`.
    #[schema(required = true)]
    pub request_id: Option<String>,
}

/// One page of events, newest first.
#[derive(Deserialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// The `cursor` of the next page; `null` on the last one.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/audit-events` (src/http/soat/audit.rs), documented here.
#[utoipa::path(
    get,
    path = "/api/v1/audit-events",
    operation_id = "soat_list_audit_events",
    tag = "soat",
    description = "The tenant's audit trail (`audit:ListEvents`): every administrative write, sign-in, \
        session revocation and permission denial, newest first, a page at a time.",
    params(AuditEventsQuery),
    responses(
        (status = 200, description = "One page of events.", body = AuditPage),
        (status = 400, response = SoatBadRequest),
        (status = 401, response = SoatUnauthorized),
        (status = 403, response = SoatForbidden),
        (status = 503, response = SoatUnavailable),
    )
)]
pub fn list_audit_events() {}

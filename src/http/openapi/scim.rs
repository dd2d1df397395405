//! The SCIM 2.0 dialect (`/scim/v2`): resources are JSON objects driven by the schema files
//! (`schemas/scim/*.json`, served at `/Schemas`), so they are described here by their key
//! attributes; every other attribute of the served schemas is accepted and read back as sent.
//! The protocol messages (ListResponse, SearchRequest, PatchOp, BulkRequest, BulkResponse,
//! Error) are described in full.

// These types describe the wire format for the document; the handlers read and write it by hand.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::error_responses;

/// RFC 7644 §3.12: `{"schemas": [Error URN], "status": "<code>", "scimType"?, "detail"}`.
#[derive(Deserialize, ToSchema)]
#[schema(as = ScimError)]
#[serde(rename_all = "camelCase")]
pub struct ScimErrorBody {
    /// `["urn:ietf:params:scim:api:messages:2.0:Error"]`.
    pub schemas: Vec<String>,
    /// The HTTP status, as a string (`"409"`).
    #[schema(pattern = "^[0-9]{3}$")]
    pub status: String,
    /// The kind of a 400 (or 409, 413) error.
    pub scim_type: Option<ScimType>,
    /// A readable explanation.
    pub detail: String,
}

/// RFC 7644 §3.12 `scimType`, with RFC 9865's cursor errors.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    InvalidCursor,
    ExpiredCursor,
    InvalidCount,
}

const SCIM_JSON: &str = "application/scim+json";

error_responses! {
    /// 400 in SCIM's shape.
    ScimBadRequest => ("The request is invalid; `scimType` says how (`invalidSyntax`, `invalidValue`, \
        `invalidFilter`, `invalidPath`, `noTarget`, `mutability`, `invalidCursor`, `expiredCursor`, `invalidCount`, …).",
        "ScimError", SCIM_JSON);
    /// 401 in SCIM's shape.
    ScimUnauthorized => ("A valid bearer credential of this tenant is required.", "ScimError", SCIM_JSON,
        "WWW-Authenticate": "`Bearer`.");
    /// 403 in SCIM's shape.
    ScimForbidden => ("The credential may not do this (its policies do not allow the `scim:*` action, or the \
        target is an admin and the caller is not).", "ScimError", SCIM_JSON);
    /// 404 in SCIM's shape.
    ScimNotFound => ("No such resource in this tenant, or no such tenant.", "ScimError", SCIM_JSON);
    /// 409 in SCIM's shape.
    ScimConflict => ("`uniqueness` (a `userName`, email or `displayName` already in use), `mutability` (the \
        tenant's last admin), or a concurrent change.", "ScimError", SCIM_JSON);
    /// 412 in SCIM's shape.
    ScimPreconditionFailed => ("`If-Match` does not match the resource's version.", "ScimError", SCIM_JSON);
    /// 413 in SCIM's shape.
    ScimPayloadTooLarge => ("The body is too large (`server.max_body_bytes`; for `/Bulk`, `maxPayloadSize` or \
        more than `maxOperations` operations: `tooMany`).", "ScimError", SCIM_JSON);
    /// 415 in SCIM's shape.
    ScimUnsupportedMediaType => ("The body is neither `application/scim+json` nor `application/json`.",
        "ScimError", SCIM_JSON);
    /// 503 in SCIM's shape.
    ScimUnavailable => ("The database or an internal worker is unavailable; retry after `Retry-After` seconds.",
        "ScimError", SCIM_JSON, "Retry-After": "Seconds to wait before retrying.");
}

/// A resource's `meta` (read-only).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimMeta {
    /// `User` or `Group`.
    pub resource_type: String,
    #[schema(format = DateTime)]
    pub created: String,
    #[schema(format = DateTime)]
    pub last_modified: String,
    /// The resource's absolute URL.
    pub location: String,
    /// Its weak ETag (`W/"…"`), as in the `ETag` header.
    pub version: String,
}

/// A multi-valued attribute's value (`emails`, `phoneNumbers`, `ims`, `photos`, `entitlements`,
/// `roles`, `x509Certificates`).
#[derive(Deserialize, ToSchema)]
pub struct ScimMultiValue {
    pub value: Option<String>,
    pub display: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub primary: Option<bool>,
}

/// A user's `name`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimName {
    pub formatted: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub honorific_prefix: Option<String>,
    pub honorific_suffix: Option<String>,
}

/// A group a user belongs to (read-only).
#[derive(Deserialize, ToSchema)]
pub struct ScimUserGroup {
    /// The group's id.
    pub value: String,
    #[serde(rename = "$ref")]
    pub reference: String,
    pub display: String,
    /// `direct`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A SCIM User (RFC 7643 §4.1, with the enterprise extension) as answered: `id` is the user's
/// UUID (the Firezone id), `userName` the username, the primary email the email, `active:false`
/// a disabled user. Every other attribute of the served schemas is read back exactly as sent;
/// `attributes` / `excludedAttributes` select which appear.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimUser {
    /// `urn:ietf:params:scim:schemas:core:2.0:User`, and the enterprise extension's URN when
    /// the user has it.
    pub schemas: Vec<String>,
    #[schema(format = "uuid")]
    pub id: String,
    pub external_id: Option<String>,
    pub user_name: Option<String>,
    pub name: Option<ScimName>,
    pub display_name: Option<String>,
    pub nick_name: Option<String>,
    pub title: Option<String>,
    pub user_type: Option<String>,
    pub preferred_language: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    /// `false` for a disabled user; absent when never stated.
    pub active: Option<bool>,
    pub emails: Option<Vec<ScimMultiValue>>,
    pub phone_numbers: Option<Vec<ScimMultiValue>>,
    /// The user's groups (read-only).
    pub groups: Option<Vec<ScimUserGroup>>,
    /// The enterprise extension (`employeeNumber`, `department`, `manager`, …).
    #[serde(rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")]
    pub enterprise: Option<BTreeMap<String, Value>>,
    pub meta: Option<ScimMeta>,
}

/// A SCIM User as sent to `POST /Users` and `PUT /Users/{id}`. `schemas` must list the core
/// User URN; unknown attributes are ignored, read-only ones (`id`, `meta`, `groups`) dropped.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimUserRequest {
    /// Must contain `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub schemas: Vec<String>,
    /// Unique in the tenant, case-insensitively (409 `uniqueness`).
    pub user_name: String,
    pub external_id: Option<String>,
    pub name: Option<ScimName>,
    pub display_name: Option<String>,
    pub nick_name: Option<String>,
    pub title: Option<String>,
    pub user_type: Option<String>,
    pub preferred_language: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    /// `false` disables the user at once (sessions end, keys are refused).
    pub active: Option<bool>,
    /// Write-only: 8–128 characters, hashed with argon2id.
    #[schema(write_only, min_length = 8, max_length = 128)]
    pub password: Option<String>,
    pub emails: Option<Vec<ScimMultiValue>>,
    pub phone_numbers: Option<Vec<ScimMultiValue>>,
    #[serde(rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")]
    pub enterprise: Option<BTreeMap<String, Value>>,
}

/// A group member (users only).
#[derive(Deserialize, ToSchema)]
pub struct ScimMember {
    /// The user's id.
    pub value: String,
    #[serde(rename = "$ref")]
    pub reference: Option<String>,
    pub display: Option<String>,
    /// `User`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// A SCIM Group (RFC 7643 §4.2) as answered: `displayName` is the group's name.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimGroup {
    /// `urn:ietf:params:scim:schemas:core:2.0:Group`.
    pub schemas: Vec<String>,
    #[schema(format = "uuid")]
    pub id: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub members: Option<Vec<ScimMember>>,
    pub meta: Option<ScimMeta>,
}

/// A SCIM Group as sent to `POST /Groups` and `PUT /Groups/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimGroupRequest {
    /// Must contain `urn:ietf:params:scim:schemas:core:2.0:Group`.
    pub schemas: Vec<String>,
    /// Not blank; unique in the tenant (409 `uniqueness`).
    #[schema(pattern = "\\S")]
    pub display_name: String,
    pub external_id: Option<String>,
    /// Users only; their groups' IAM policies apply to them.
    pub members: Option<Vec<ScimMember>>,
}

/// One PATCH operation. Op names are case-insensitive; without `path`, `value` is an object of
/// attributes (dotted and URN-qualified keys accepted).
#[derive(Deserialize, ToSchema)]
pub struct ScimPatchOperation {
    /// `add`, `remove` or `replace` (any case).
    pub op: String,
    /// An attribute path, possibly value-filtered (`emails[type eq "work"].value`); required for
    /// `remove`.
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// RFC 7644 §3.5.2 PatchOp: every operation applies, or none.
#[derive(Deserialize, ToSchema)]
pub struct ScimPatchOp {
    /// `["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`.
    pub schemas: Vec<String>,
    /// 1 to 100 operations.
    #[serde(rename = "Operations")]
    #[schema(min_items = 1, max_items = 100)]
    pub operations: Vec<ScimPatchOperation>,
}

/// RFC 7644 §3.4.3 SearchRequest (the body of `POST …/.search`), with RFC 9865's `cursor`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimSearchRequest {
    /// When present, must contain `urn:ietf:params:scim:api:messages:2.0:SearchRequest`.
    #[schema(nullable = false)]
    pub schemas: Option<Vec<String>>,
    /// A filter (RFC 7644 §3.4.2.2), at most 4096 bytes and 32 levels.
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    /// `ascending` or `descending` (any case).
    #[schema(pattern = "^\\s*([aA][sS][cC][eE][nN][dD][iI][nN][gG]|[dD][eE][sS][cC][eE][nN][dD][iI][nN][gG])?\\s*$")]
    pub sort_order: Option<String>,
    /// 1-based; not with `cursor`.
    pub start_index: Option<i64>,
    /// Page size: default 100, at most 1000; `0` gives only `totalResults`.
    pub count: Option<i64>,
    /// Cursor paging: empty for the first page, then a `nextCursor` / `previousCursor`.
    pub cursor: Option<String>,
    /// Attribute names (a list, or a comma-separated string).
    pub attributes: Option<Value>,
    pub excluded_attributes: Option<Value>,
}

/// RFC 7644 §3.4.2 ListResponse: index paging answers `startIndex`, cursor paging
/// `nextCursor` (every page but the last) and `previousCursor` (every page but the first).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimListResponse {
    /// `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`.
    pub schemas: Vec<String>,
    #[schema(minimum = 0)]
    pub total_results: u64,
    #[schema(minimum = 0)]
    pub items_per_page: u64,
    #[schema(minimum = 1)]
    pub start_index: Option<u64>,
    pub next_cursor: Option<String>,
    pub previous_cursor: Option<String>,
    /// The page's resources (absent when empty): Users, Groups, ResourceTypes or Schemas.
    #[serde(rename = "Resources")]
    pub resources: Option<Vec<BTreeMap<String, Value>>>,
}

/// One operation of a BulkRequest.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimBulkOperation {
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// Required for `POST`; `bulkId:<id>` in another operation's path or data names the
    /// resource this one creates.
    pub bulk_id: Option<String>,
    /// `If-Match` for this operation.
    pub version: Option<String>,
    /// `/Users`, `/Groups` (POST) or `/Users/{id}`, `/Groups/{id}`.
    pub path: String,
    /// The resource or PatchOp; required but for `DELETE`.
    pub data: Option<Value>,
}

/// RFC 7644 §3.7 BulkRequest: at most 1000 operations and 1 MiB.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimBulkRequest {
    /// Must contain `urn:ietf:params:scim:api:messages:2.0:BulkRequest`.
    pub schemas: Vec<String>,
    /// Stop after this many errors.
    #[schema(minimum = 1)]
    pub fail_on_errors: Option<i64>,
    #[serde(rename = "Operations")]
    #[schema(max_items = 1000)]
    pub operations: Vec<ScimBulkOperation>,
}

/// One operation's outcome: what its own request would have answered.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimBulkOutcome {
    pub method: String,
    pub bulk_id: Option<String>,
    pub location: Option<String>,
    /// The resource's ETag after the operation.
    pub version: Option<String>,
    /// The HTTP status, as a string.
    pub status: String,
    /// The SCIM error, for a failed operation.
    pub response: Option<ScimErrorBody>,
}

/// RFC 7644 §3.7 BulkResponse.
#[derive(Deserialize, ToSchema)]
pub struct ScimBulkResponse {
    /// `["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]`.
    pub schemas: Vec<String>,
    #[serde(rename = "Operations")]
    pub operations: Vec<ScimBulkOutcome>,
}

/// A discovery document (`ServiceProviderConfig`, a `ResourceType` or a `Schema`, RFC 7643
/// §5–§7) with its `meta.location` under the tenant's SCIM base URL.
#[derive(Deserialize, ToSchema)]
pub struct ScimDiscoveryDocument {
    pub schemas: Vec<String>,
    pub meta: ScimDiscoveryMeta,
}

/// A discovery document's `meta`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimDiscoveryMeta {
    /// `ServiceProviderConfig`, `ResourceType` or `Schema`.
    pub resource_type: String,
    /// The document's absolute URL.
    pub location: String,
}

/// The query of a list (`GET /Users`, `GET /Groups`), RFC 7644 §3.4.2 and RFC 9865.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ScimListQuery {
    /// A filter (`userName eq "alice"`, `emails[type eq "work" and value co "@x"]`, …), at most
    /// 4096 bytes and 32 levels (400 `invalidFilter`).
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    /// `ascending` (default) or `descending` (any case).
    #[param(pattern = "^\\s*([aA][sS][cC][eE][nN][dD][iI][nN][gG]|[dD][eE][sS][cC][eE][nN][dD][iI][nN][gG])?\\s*$")]
    pub sort_order: Option<String>,
    /// 1-based (index paging; not with `cursor`).
    pub start_index: Option<i64>,
    /// Page size: default 100, at most 1000; `0`: only `totalResults`.
    pub count: Option<i64>,
    /// Cursor paging: empty for the first page, then an answer's `nextCursor` or
    /// `previousCursor` (400 `invalidCursor`, `expiredCursor`, `invalidCount`).
    pub cursor: Option<String>,
    /// Comma-separated attribute names to return.
    pub attributes: Option<String>,
    /// Comma-separated attribute names to leave out.
    pub excluded_attributes: Option<String>,
}

/// Which attributes a single-resource answer carries.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ScimProjectionQuery {
    /// Comma-separated attribute names to return.
    pub attributes: Option<String>,
    /// Comma-separated attribute names to leave out.
    pub excluded_attributes: Option<String>,
}

//! SCIM 2.0 (RFC 7643, RFC 7644, RFC 9865): the protocol's rules as pure functions — the filter
//! grammar, schema-driven validation and projection, PATCH, discovery documents — and the one
//! mapping between Tessera's records and SCIM resources. The ProvisioningActor applies them; the
//! HTTP module only moves them on and off the wire.

mod bulk;
mod cursor;
mod discovery;
mod error;
mod filter;
mod group_resource;
mod matching;
mod patch;
mod query;
pub mod schema;
mod user_resource;
mod version;

pub use bulk::{
    bulk_target, parse_bulk, references, substitute, BulkMethod, BulkOperation, BulkRequest, BulkTarget,
    BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES, BULK_RESPONSE_URN,
};
pub use cursor::{decode_cursor, encode_cursor, query_digest, CursorState, CURSOR_TIMEOUT_SECS};
pub use discovery::{
    resource_type, resource_types, schema as schema_document, schemas as schema_documents, service_provider_config,
    ServiceLimits, LIST_RESPONSE_URN,
};
pub use error::{ScimProblem, ScimType};
pub use filter::{parse_filter, parse_path, AttrPath, CompareOp, Filter, PatchPath};
pub use group_resource::{render_group, split_group, ProvisionedGroup};
pub use patch::{apply as apply_patch, PATCH_OP_URN};
pub use query::{translate, Access, Condition, SortKey};
pub use schema::{check_immutable, normalize, project, ResourceKind, ENTERPRISE_USER_URN, GROUP_URN, USER_URN};
pub use user_resource::{render_user, split_user, ProvisionedUser};
pub use version::{etag, parse_etags, Precondition};

//! Re-sealing every sealed value under the newest master key, so that older keys can be
//! retired: provider client secrets in each tenant's configuration, upstream refresh tokens,
//! live pending sign-ins, and the SAML SP key pair. Work goes in pages, each page's writes in
//! one bounded transaction, every write only if the value is unchanged since it was read; a
//! value already under the newest key is skipped, so a pass can be interrupted and re-run.

use serde_json::Value;

use crate::crypto::Sealer;
use crate::error::DomainError;
use crate::model::TenantId;
use crate::provisioning_actor::SP_CREDENTIALS;
use crate::store::{SealedChange, SealedColumn, Store};

/// Values per page (and per write transaction).
const PAGE: usize = 100;
/// Attempts at a configuration document that keeps changing under the pass.
const DOCUMENT_ATTEMPTS: usize = 5;

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ResealReport {
    /// Values now sealed under the newest key that were not before.
    pub resealed: usize,
    /// Values no key of the keyring opens (sealed under a key that is gone); left as they are.
    pub unopenable: usize,
}

/// Re-seals everything in every tenant, then the server-wide values.
pub async fn reseal_all(store: &Store, sealer: &Sealer) -> Result<ResealReport, DomainError> {
    let mut report = ResealReport::default();
    for tenant in store.list_tenants().await?.into_iter().map(|tenant| tenant.id) {
        configuration(store, sealer, &tenant, &mut report).await?;
        for column in [SealedColumn::RefreshToken, SealedColumn::SignInState] {
            column_values(store, sealer, &tenant, column, &mut report).await?;
        }
    }
    sp_credentials(store, sealer, &mut report).await?;
    Ok(report)
}

/// The OIDC client secrets inside a tenant's configuration document.
async fn configuration(
    store: &Store,
    sealer: &Sealer,
    tenant: &TenantId,
    report: &mut ResealReport,
) -> Result<(), DomainError> {
    for _ in 0..DOCUMENT_ATTEMPTS {
        let Some(stored) = store.get_configuration(tenant).await? else { return Ok(()) };
        let mut document: Value = serde_json::from_str(&stored).map_err(|error| {
            DomainError::Storage(format!("stored configuration of {tenant} is unreadable: {error}"))
        })?;
        let (mut resealed, mut unopenable) = (0, 0);
        let providers = document.get_mut("openid_connect_providers").and_then(Value::as_array_mut);
        for provider in providers.into_iter().flatten() {
            let Some(Value::String(secret)) = provider.get_mut("client_secret") else { continue };
            match reseal(sealer, secret) {
                Some(Some(new)) => {
                    *secret = new;
                    resealed += 1;
                }
                Some(None) => {}
                None => unopenable += 1,
            }
        }
        if resealed > 0 {
            let new = serde_json::to_string(&document).map_err(|error| DomainError::Internal(error.to_string()))?;
            if !store.replace_configuration(tenant, &stored, &new).await? {
                continue; // Changed meanwhile: read it again.
            }
        }
        if unopenable > 0 {
            tracing::warn!(tenant = %tenant, count = unopenable, "provider client secrets that no key opens");
        }
        report.resealed += resealed;
        report.unopenable += unopenable;
        return Ok(());
    }
    Err(DomainError::Busy)
}

/// One sealed column of a tenant, page by page.
async fn column_values(
    store: &Store,
    sealer: &Sealer,
    tenant: &TenantId,
    column: SealedColumn,
    report: &mut ResealReport,
) -> Result<(), DomainError> {
    let current = sealer.current_prefix();
    let mut after = None;
    loop {
        let page = store.sealed_values(tenant, column, &current, after.take(), PAGE).await?;
        let Some(last) = page.last() else { return Ok(()) };
        after = Some(last.id.clone());
        let full = page.len() == PAGE;
        let mut changes = Vec::with_capacity(page.len());
        for sealed in page {
            match reseal(sealer, &sealed.value) {
                Some(Some(new)) => changes.push(SealedChange { id: sealed.id, old: sealed.value, new }),
                Some(None) => {}
                None => report.unopenable += 1,
            }
        }
        report.resealed += changes.len();
        if !changes.is_empty() {
            store.replace_sealed_values(tenant, column, changes).await?;
        }
        if !full {
            return Ok(());
        }
    }
}

/// The SAML SP key pair, shared by all tenants.
async fn sp_credentials(store: &Store, sealer: &Sealer, report: &mut ResealReport) -> Result<(), DomainError> {
    for _ in 0..DOCUMENT_ATTEMPTS {
        let Some(stored) = store.setting(SP_CREDENTIALS).await? else { return Ok(()) };
        match reseal(sealer, &stored) {
            Some(Some(new)) => {
                if store.replace_setting(SP_CREDENTIALS, &stored, &new).await? {
                    report.resealed += 1;
                    return Ok(());
                }
            }
            Some(None) => return Ok(()),
            None => {
                tracing::warn!("the SAML SP key pair is sealed under a key this server does not have");
                report.unopenable += 1;
                return Ok(());
            }
        }
    }
    Err(DomainError::Busy)
}

/// `Some(Some(new))` to replace, `Some(None)` if already current, `None` if no key opens it.
fn reseal(sealer: &Sealer, sealed: &str) -> Option<Option<String>> {
    if sealer.is_current(sealed) {
        return Some(None);
    }
    sealer.open(sealed).map(|clear| Some(sealer.seal(&clear)))
}

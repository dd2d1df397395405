//! Key rotation: taking the secret earlier releases kept in the database out of it, adding a
//! new master key, and retiring old ones once nothing depends on them.

use chrono::{DateTime, Utc};

use super::keyring::{KeyError, MasterKey};
use super::reseal::{reseal_all, ResealReport};
use super::source::ServerKeys;
use crate::crypto::Sealer;
use crate::error::DomainError;
use crate::store::Store;

/// The setting where releases before key ids kept their generated secret.
const STORED_SECRET: &str = "token_secret";

impl From<KeyError> for DomainError {
    fn from(error: KeyError) -> Self {
        DomainError::Internal(error.0)
    }
}

/// Brings the secret that releases before key ids generated and kept in the database
/// (`setting:token_secret`) into the keyring as a legacy key, so what they made stays usable.
/// With `move_to_file` (a single process: the embedded store, or an operator command) and a key
/// file, it is written into the file, everything is re-sealed, and it is deleted from the
/// database; otherwise it is used from the database and a warning says how to move it.
pub async fn adopt_stored_secret(
    store: &Store,
    keys: ServerKeys,
    move_to_file: bool,
) -> Result<ServerKeys, DomainError> {
    let Some(stored) = store.setting(STORED_SECRET).await? else { return Ok(keys) };
    let legacy = MasterKey::legacy(stored.as_bytes().to_vec())
        .map_err(|error| DomainError::Internal(format!("the token secret stored in the database: {error}")))?;
    let file = match keys.file() {
        Some(file) if move_to_file => file.clone(),
        _ => {
            tracing::warn!(
                "the database still holds the token secret of an earlier release (setting:token_secret), so a copy \
                 of the database can forge that release's tokens: run `tessera rotate-secret` (with a key file) or \
                 `tessera retire-secrets` to remove it"
            );
            return Ok(keys.with_extra_legacy(legacy)?);
        }
    };
    let mut base = vec![legacy];
    base.extend(keys.base().iter().cloned());
    let keys = keys.with_base(base)?;
    file.replace(keys.base())?;
    let report = reseal_all(store, &Sealer::new(keys.keyring().clone())).await?;
    store.delete_setting(STORED_SECRET, &stored).await?;
    tracing::warn!(path = %file.path().display(), resealed = report.resealed, unopenable = report.unopenable,
        "moved the token secret of an earlier release out of the database into the key file (as a legacy key), \
         re-sealed what it sealed, and deleted it from the database");
    Ok(keys)
}

/// What `tessera rotate-secret` did.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The kid of the key added, if one was.
    pub added: Option<String>,
    /// Every kid now in the keyring, oldest first.
    pub kids: Vec<String>,
    pub resealed: ResealReport,
}

/// Adds a fresh master key to the key file (unless `reseal_only`) and re-seals every sealed
/// value under the newest key. Safe to re-run: an interrupted run leaves every value openable,
/// since no key is removed.
pub async fn rotate(store: &Store, keys: ServerKeys, reseal_only: bool) -> Result<Rotation, DomainError> {
    if !reseal_only && keys.file().is_none() {
        return Err(KeyError(
            "the master keys come from the configuration (auth.secret): put the new secret in auth.secret and the \
             old one in auth.previous_secrets, restart, then run `tessera rotate-secret --reseal-only`"
                .into(),
        )
        .into());
    }
    let keys = adopt_stored_secret(store, keys, true).await?;
    let (keys, added) = match keys.file() {
        Some(file) if !reseal_only => {
            // Read the file again: it is the truth, whatever this process loaded earlier.
            let mut base = file.read()?.unwrap_or_else(|| keys.base().to_vec());
            let key = MasterKey::generate();
            let kid = key.kid();
            base.push(key);
            let keys = keys.with_base(base)?;
            file.replace(keys.base())?;
            tracing::info!(path = %file.path().display(), %kid, "added a master key");
            (keys, Some(kid))
        }
        _ => (keys, None),
    };
    let resealed = reseal_all(store, &Sealer::new(keys.keyring().clone())).await?;
    Ok(Rotation { added, kids: kids(&keys), resealed })
}

/// Why old keys cannot be retired yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependents {
    /// Live sessions opened before the newest key was added: their tokens are signed with an old key.
    pub sessions: usize,
    /// When the newest key was added is unknown (a key file line without `added=`, or `auth.secret`),
    /// so old keys may still have signed live sessions.
    pub newest_added_unknown: bool,
    /// Live API keys whose stored hash was made with an old key and not used since the rotation.
    pub api_keys: usize,
}

impl Dependents {
    /// Whether anything would stop working.
    pub fn any(&self) -> bool {
        self.sessions > 0 || self.newest_added_unknown || self.api_keys > 0
    }
}

/// What `tessera retire-secrets` did, or why it did not.
#[derive(Debug, Clone)]
pub enum Retirement {
    /// Nothing was retired: these depend on the old keys (rerun with `force` to retire anyway).
    Refused { dependents: Dependents, resealed: ResealReport },
    /// The old keys left the key file (and the database, for a stored legacy secret).
    Retired {
        retired: Vec<String>,
        kept: String,
        dependents: Dependents,
        resealed: ResealReport,
        /// Old keys come from the configuration: the operator must remove them there.
        configured_old_keys: bool,
    },
}

/// Re-seals everything under the newest key, then drops every other key from the key file
/// (and the secret an earlier release stored in the database), unless sessions or API keys
/// still depend on them and `force` is off.
pub async fn retire(store: &Store, keys: ServerKeys, force: bool) -> Result<Retirement, DomainError> {
    let keys = adopt_stored_secret(store, keys, true).await?;
    let resealed = reseal_all(store, &Sealer::new(keys.keyring().clone())).await?;
    let dependents = dependents(store, &keys).await?;
    if dependents.any() && !force {
        return Ok(Retirement::Refused { dependents, resealed });
    }
    let newest = keys.keyring().primary_master().clone();
    let mut retired: Vec<String> = Vec::new();
    if let Some(file) = keys.file() {
        let base = file.read()?.unwrap_or_else(|| keys.base().to_vec());
        retired.extend(base.iter().map(MasterKey::kid).filter(|kid| *kid != newest.kid()));
        file.replace(std::slice::from_ref(&newest))?;
    }
    if let Some(stored) = store.setting(STORED_SECRET).await? {
        store.delete_setting(STORED_SECRET, &stored).await?;
        retired.push(format!("{} (from the database)", super::LEGACY_KID));
    }
    let configured_old_keys = keys.has_configured_old_keys();
    tracing::warn!(?retired, kept = %newest.kid(), "retired old master keys");
    Ok(Retirement::Retired { retired, kept: newest.kid(), dependents, resealed, configured_old_keys })
}

/// What still depends on keys older than the newest.
async fn dependents(store: &Store, keys: &ServerKeys) -> Result<Dependents, DomainError> {
    let newest = keys.keyring().primary_master();
    let prefix = format!("{}:", newest.kid());
    let added: Option<DateTime<Utc>> = newest.added();
    let only_key = keys.keyring().masters().len() == 1;
    let mut dependents = Dependents { newest_added_unknown: added.is_none() && !only_key, ..Dependents::default() };
    for tenant in store.list_tenants().await?.into_iter().map(|tenant| tenant.id) {
        if let Some(added) = added {
            dependents.sessions += store.count_live_sessions_before(&tenant, added).await?;
        }
        dependents.api_keys += store.count_live_api_keys_not_hashed_under(&tenant, &prefix).await?;
    }
    Ok(dependents)
}

fn kids(keys: &ServerKeys) -> Vec<String> {
    keys.keyring().masters().iter().map(MasterKey::kid).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::tests::seal_v1;
    use crate::model::TenantId;
    use crate::secrets::{load, Keyring, SecretSettings};
    use crate::tokens::TokenKeys;

    const OLD_SECRET: &str = "the secret an earlier release generated and stored, 64 characters long";

    /// What a release before key ids left behind: its secret in the database, a client secret
    /// and a refresh token sealed `v1:`, a token without kid.
    #[tokio::test]
    async fn a_secret_an_earlier_release_stored_moves_into_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = format!("surrealkv://{}/db", dir.path().display());
        let config = crate::store::test_config(endpoint.clone());
        let store = Store::open(&config).await.unwrap();
        let tenant = TenantId::default_tenant();
        store.ensure_tenant(&tenant).await.unwrap();
        store.setting_or_init(STORED_SECRET, || OLD_SECRET.into()).await.unwrap();
        let document = serde_json::json!({"openid_connect_providers": [
            {"id": "okta", "client_secret": seal_v1(OLD_SECRET.as_bytes(), "client-secret")}]});
        store.put_configuration(&tenant, &document.to_string(), None).await.unwrap();
        let refresh = seal_v1(OLD_SECRET.as_bytes(), "refresh-token");
        let user = crate::model::User::new(
            "u@idp.test".into(),
            Some("u@idp.test".into()),
            crate::model::Role::Unprivileged,
            None,
        );
        let identity =
            crate::model::IdentityKey { provider: "okta".into(), issuer: "iss".into(), subject: "sub".into() };
        store.create_linked_user(&tenant, &user, &identity, Some(refresh)).await.unwrap();
        let old_token = {
            let legacy = Keyring::new(vec![MasterKey::legacy(OLD_SECRET.into()).unwrap(), MasterKey::generate()]);
            legacy_token(&legacy.unwrap())
        };

        let keys = load(&SecretSettings::default(), &endpoint).unwrap();
        let keys = adopt_stored_secret(&store, keys, true).await.unwrap();

        assert_eq!(store.setting(STORED_SECRET).await.unwrap(), None, "gone from the database");
        let file = keys.file().unwrap().read().unwrap().unwrap();
        assert_eq!((file.len(), file[0].is_legacy()), (2, true), "kept in the key file as a legacy key");
        let sealer = Sealer::new(keys.keyring().clone());
        let stored: serde_json::Value =
            serde_json::from_str(&store.get_configuration(&tenant).await.unwrap().unwrap()).unwrap();
        let secret = stored["openid_connect_providers"][0]["client_secret"].as_str().unwrap();
        assert!(sealer.is_current(secret), "{secret}");
        assert_eq!(sealer.open(secret).as_deref(), Some("client-secret"));
        let identities = store.refreshable_identities(&tenant).await.unwrap();
        assert!(sealer.is_current(&identities[0].sealed_refresh_token));
        assert_eq!(sealer.open(&identities[0].sealed_refresh_token).as_deref(), Some("refresh-token"));
        assert!(TokenKeys::new(keys.keyring().clone()).verify(&tenant, &old_token).is_some());

        // The next start finds the legacy key in the file and nothing left to move.
        let again = adopt_stored_secret(&store, load(&SecretSettings::default(), &endpoint).unwrap(), true).await;
        let again = again.unwrap();
        assert_eq!(again.keyring().masters().len(), 2);
        assert!(TokenKeys::new(again.keyring().clone()).verify(&tenant, &old_token).is_some());
    }

    /// A token as releases before key ids issued it: no kid, the legacy secret's JWT subkey.
    fn legacy_token(keys: &Keyring) -> String {
        use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
        let jwt = &keys.legacy().next().unwrap().jwt;
        let claims = serde_json::json!({"iss": "tessera", "tid": "default", "typ": "session",
            "sub": uuid::Uuid::new_v4().to_string(), "sid": uuid::Uuid::new_v4().to_string(),
            "iat": Utc::now().timestamp(), "exp": Utc::now().timestamp() + 3600});
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&jwt[..])).unwrap()
    }
}

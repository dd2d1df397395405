//! `tessera rotate-secret` and `tessera retire-secrets`: operator commands on the database and
//! the key file, reporting what they did (key ids and counts, never a key).

use tessera_actors::secrets::{self, Dependents, ResealReport, Retirement};
use tessera_actors::store::Store;

use crate::settings::Settings;

/// Adds a master key (unless `reseal_only`) and re-seals everything under the newest.
pub async fn rotate(settings: &Settings, reseal_only: bool) -> anyhow::Result<bool> {
    let keys = settings.keys()?;
    let store = Store::open(&settings.store()).await?;
    let rotation = secrets::rotate(&store, keys, reseal_only).await?;
    if let Some(kid) = &rotation.added {
        println!("added master key {kid}; it signs and seals from the next start on");
    }
    println!("master keys, oldest first: {}", rotation.kids.join(", "));
    print_resealed(rotation.resealed);
    Ok(true)
}

/// Retires every key but the newest, unless something still depends on them and not `force`.
pub async fn retire(settings: &Settings, force: bool) -> anyhow::Result<bool> {
    let keys = settings.keys()?;
    let store = Store::open(&settings.store()).await?;
    match secrets::retire(&store, keys, force).await? {
        Retirement::Refused { dependents, resealed } => {
            print_resealed(resealed);
            eprintln!("tessera: old master keys not retired; they stop working once retired for:");
            print_dependents(&dependents);
            eprintln!("retry once those have expired (or been used since the rotation), or pass --force");
            Ok(false)
        }
        Retirement::Retired { retired, kept, dependents, resealed, configured_old_keys } => {
            print_resealed(resealed);
            if dependents.any() {
                eprintln!("tessera: retired with --force; these stop working:");
                print_dependents(&dependents);
            }
            match retired.is_empty() {
                true => println!("no old master key in the key file; {kept} stays"),
                false => println!("retired master keys {}; {kept} stays", retired.join(", ")),
            }
            if configured_old_keys {
                println!("remove auth.previous_secrets and auth.token_secret from the configuration to retire those");
            }
            Ok(true)
        }
    }
}

fn print_resealed(report: ResealReport) {
    println!("re-sealed {} stored secrets under the newest key", report.resealed);
    if report.unopenable > 0 {
        println!(
            "{} stored secrets are sealed under keys this server does not have and stay unreadable",
            report.unopenable
        );
    }
}

fn print_dependents(dependents: &Dependents) {
    if dependents.sessions > 0 {
        eprintln!("  {} live sessions signed before the newest key was added", dependents.sessions);
    }
    if dependents.newest_added_unknown {
        eprintln!("  live sessions may be signed with old keys (when the newest key was added is not recorded)");
    }
    if dependents.api_keys > 0 {
        eprintln!("  {} live API keys hashed under old keys and not used since the rotation", dependents.api_keys);
    }
}

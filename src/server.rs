//! `tessera serve`: the HTTP server over the running domain.

use actix_web::{middleware, web, App, HttpServer};
use tessera_actors::provisioning_actor::SeedConfiguration;
use tessera_actors::{Domain, DomainError, TenantId};

use crate::http::{self, AppState};
use crate::settings::Settings;

/// Starts the domain and serves HTTP until a shutdown signal.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let domain = Domain::start(settings.domain()?).await?;
    if let Some(changes) = settings.configuration.clone() {
        let base_url = settings.server.external_url.trim_end_matches('/').to_owned();
        let seed = SeedConfiguration { tenant: TenantId::default_tenant(), changes, base_url };
        domain.provisioning.send(seed).await?.map_err(|error| match error {
            DomainError::InvalidDocument(errors) => anyhow::anyhow!("configuration: {errors}"),
            other => other.into(),
        })?;
    }
    let external_url = settings.server.external_url.trim_end_matches('/').to_owned();
    let sso = settings.sso;
    let sign_in_starts = http::StartLimit::new(sso.sign_in_starts_per_minute, sso.sign_in_start_burst);
    let client_address = crate::http::ClientAddress::new(&settings.server.trusted_proxies);
    let metrics_address = settings.server.metrics_address();
    let metrics_listener = metrics_address.is_some();
    let state = web::Data::new(AppState { domain, external_url, sign_in_starts, client_address, metrics_listener });
    let max_body = settings.server.max_body_bytes;
    http::set_domain_deadline(std::time::Duration::from_secs(settings.server.request_timeout_seconds));
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism().map(usize::from).unwrap_or(1),
        n => n,
    };
    let metrics_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(web::FormConfig::default().limit(max_body))
            .wrap(middleware::from_fn(http::resolve_tenant))
            .wrap(middleware::from_fn(http::json_error_bodies))
            .wrap(tracing_actix_web::TracingLogger::<http::RequestSpan>::new())
            .wrap(middleware::from_fn(http::assign_request_id))
            .configure(http::configure)
            .default_service(web::to(
                |req: actix_web::HttpRequest| async move { crate::http::not_found_for(req.path()) },
            ))
    })
    .workers(workers)
    .bind(settings.server.bind)?;
    for address in server.addrs() {
        tracing::info!(%address, database = %settings.database.endpoint, "tessera listening");
    }
    let Some(metrics_address) = metrics_address else {
        server.run().await?;
        return Ok(());
    };
    let metrics = HttpServer::new(move || {
        App::new()
            .app_data(metrics_state.clone())
            .route("/metrics", web::get().to(http::metrics::scrape_listener))
            .default_service(web::to(|| async { actix_web::HttpResponse::NotFound().finish() }))
    })
    .workers(1)
    .bind(metrics_address)?;
    for address in metrics.addrs() {
        tracing::info!(%address, "metrics listening");
    }
    tokio::try_join!(server.run(), metrics.run())?;
    Ok(())
}

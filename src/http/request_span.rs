//! The span every request is traced in. Unlike tracing-actix-web's default it records the path
//! without the query string: OIDC callbacks carry `code` and `state` there, and nothing a
//! client sends as a credential may reach the logs (bodies and headers are never recorded).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

use super::request_id::RequestContext;

/// Root span builder: method, matched route, path (no query), client address, request id, and
/// (recorded as they become known) tenant, status and latency.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestContext>().map(|context| context.id.clone());
        let route = request.match_pattern().unwrap_or_default();
        let client = request
            .app_data::<actix_web::web::Data<super::AppState>>()
            .and_then(|state| state.client_address.of(request.request()))
            .map(|address| address.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %request.path(),
            http.client_ip = %client,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %request_id.unwrap_or_default(),
            tenant = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
    }

    /// Records the status, counts the request into the HTTP metrics (by route template), and
    /// writes a debug-level access line inside the span (so its fields, and nothing else of the
    /// request, are what the log shows).
    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span.clone(), outcome);
        let status = match outcome {
            Ok(response) => {
                let request = response.request();
                let status = response.status().as_u16();
                let started = request.extensions().get::<RequestContext>().map(|context| context.started);
                if let Some(started) = started {
                    let elapsed = started.elapsed();
                    span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
                    let route = request.match_pattern();
                    tessera_actors::metrics::http_request(route.as_deref(), request.method().as_str(), status, elapsed);
                }
                status
            }
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        span.in_scope(|| tracing::debug!(status, "served"));
    }
}

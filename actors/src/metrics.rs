//! Every Prometheus series Tessera exports, defined in one place so that an operator reads here
//! what `/metrics` carries. The series are process-wide (one registry per process) and carry no
//! tenant data: labels are route templates, methods, statuses, outcomes and tenant ids.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::error::DomainError;

/// Latency buckets (seconds) from a cached read (sub-millisecond) to a slow password hash.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    sign_ins: IntCounterVec,
    throttled: IntCounterVec,
    hasher_queue: IntGauge,
    hash_duration: HistogramVec,
    store_queries: Histogram,
    store_conflicts: IntCounter,
    store_retries: IntCounter,
    store_gave_up: IntCounter,
    active_sessions: IntGaugeVec,
    scim_operations: IntCounterVec,
    audit_dropped: IntCounter,
    /// Hits and misses of each cache, resolved once: counted on every authenticated request.
    cache_lookups: [[IntCounter; 2]; 2],
}

/// The in-memory caches whose lookups are counted (`cache` label).
#[derive(Debug, Clone, Copy)]
pub enum Cache {
    /// Checked credentials (session or `sk_` key → user → permissions).
    Principal,
    /// User records read by id for `GET /users/{id}`.
    User,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
    registry.register(Box::new(metric.clone())).expect("unique counter");
    metric
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let options = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
    let metric = HistogramVec::new(options, labels).expect("valid histogram");
    registry.register(Box::new(metric.clone())).expect("unique histogram");
    metric
}

impl Metrics {
    fn new() -> Self {
        // Tessera's own series are named `tessera_…`; the process collector's keep their
        // conventional `process_…` names.
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self())).expect("process");
        let store_queries = Histogram::with_opts(
            HistogramOpts::new("tessera_store_query_duration_seconds", "Time of one store query, retries excluded.")
                .buckets(LATENCY_BUCKETS.to_vec()),
        )
        .expect("valid histogram");
        registry.register(Box::new(store_queries.clone())).expect("unique histogram");
        let single = |name: &str, help: &str| {
            let metric = IntCounter::new(name, help).expect("valid counter");
            registry.register(Box::new(metric.clone())).expect("unique counter");
            metric
        };
        let (store_conflicts, store_retries, store_gave_up) = (
            single("tessera_store_transaction_conflicts_total", "Transactions that collided with a concurrent writer."),
            single("tessera_store_retries_total", "Transactions retried after a collision."),
            single("tessera_store_retries_exhausted_total", "Writes that kept colliding and were answered busy."),
        );
        let audit_dropped =
            single("tessera_audit_events_dropped_total", "Audit events dropped because the audit queue was full.");
        let hasher_queue =
            IntGauge::new("tessera_hasher_queue_depth", "Passwords waiting for or being hashed.").expect("gauge");
        registry.register(Box::new(hasher_queue.clone())).expect("unique gauge");
        let active_sessions =
            IntGaugeVec::new(Opts::new("tessera_active_sessions", "Unexpired sessions per tenant."), &["tenant"])
                .expect("gauge");
        registry.register(Box::new(active_sessions.clone())).expect("unique gauge");
        let lookups = counter(
            &registry,
            "tessera_cache_lookups_total",
            "Lookups of the principal and user-record caches, by outcome.",
            &["cache", "outcome"],
        );
        let cache_lookups = ["principal", "user"]
            .map(|cache| ["miss", "hit"].map(|outcome| lookups.with_label_values(&[cache, outcome])));
        Metrics {
            cache_lookups,
            http_requests: counter(
                &registry,
                "tessera_http_requests_total",
                "HTTP requests by route template, method and status.",
                &["route", "method", "status"],
            ),
            http_duration: histogram(
                &registry,
                "tessera_http_request_duration_seconds",
                "HTTP request latency by route template and method.",
                &["route", "method"],
            ),
            sign_ins: counter(
                &registry,
                "tessera_sign_ins_total",
                "Sign-ins by method and outcome.",
                &["method", "outcome"],
            ),
            throttled: counter(
                &registry,
                "tessera_throttled_attempts_total",
                "Attempts refused by a rate limit, by which limit.",
                &["limit"],
            ),
            hash_duration: histogram(
                &registry,
                "tessera_password_hash_duration_seconds",
                "Time of one argon2id hash or verification.",
                &["operation"],
            ),
            scim_operations: counter(
                &registry,
                "tessera_scim_operations_total",
                "SCIM operations by resource, operation and outcome.",
                &["resource", "operation", "outcome"],
            ),
            registry,
            hasher_queue,
            store_queries,
            store_conflicts,
            store_retries,
            store_gave_up,
            active_sessions,
            audit_dropped,
        }
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Registers every series now (at start-up), so that a definition mistake stops the server at
/// once instead of surfacing on a request.
pub fn init() {
    LazyLock::force(&METRICS);
}

/// One HTTP request answered: `route` is the matched template (never the raw path, so a
/// scanner cannot create series), or `unmatched`.
pub fn http_request(route: Option<&str>, method: &str, status: u16, elapsed: Duration) {
    let route = route.unwrap_or("unmatched");
    METRICS.http_requests.with_label_values(&[route, method, status_label(status)]).inc();
    METRICS.http_duration.with_label_values(&[route, method]).observe(elapsed.as_secs_f64());
}

/// A status as a label without allocating for the common ones.
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        302 => "302",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        412 => "412",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ if status < 200 => "1xx",
        _ if status < 300 => "2xx",
        _ if status < 400 => "3xx",
        _ if status < 500 => "4xx",
        _ => "5xx",
    }
}

/// How a sign-in ended, as a metric label.
fn sign_in_outcome<T>(result: &Result<T, DomainError>) -> &'static str {
    match result {
        Ok(_) => "success",
        Err(DomainError::Unauthenticated(_)) => "invalid_credentials",
        Err(DomainError::SignInRefused(_) | DomainError::Conflict(_) | DomainError::Forbidden) => "refused",
        Err(DomainError::Throttled(_)) => "throttled",
        Err(DomainError::Overloaded(_)) => "overloaded",
        Err(DomainError::Invalid(_) | DomainError::NotFound) => "bad_request",
        Err(_) => "error",
    }
}

/// Runs `attempt` and hands its result to `record` (one of the recorders below) before
/// returning it: how a handler's whole outcome is counted without touching each exit.
pub async fn observe<T>(
    attempt: impl std::future::Future<Output = Result<T, DomainError>>,
    record: impl FnOnce(&Result<T, DomainError>),
) -> Result<T, DomainError> {
    let result = attempt.await;
    record(&result);
    result
}

/// A sign-in through `method` (`password`, `oidc`, `saml`) ended with `result`.
pub fn sign_in<T>(method: &str, result: &Result<T, DomainError>) {
    METRICS.sign_ins.with_label_values(&[method, sign_in_outcome(result)]).inc();
    match result {
        Err(DomainError::Throttled(_)) => throttled("password_guessing"),
        Err(DomainError::Overloaded(_)) => throttled("password_checks_in_flight"),
        _ => {}
    }
}

/// An attempt refused by the rate limit named `limit`.
pub fn throttled(limit: &str) {
    METRICS.throttled.with_label_values(&[limit]).inc();
}

/// A password waiting for or being hashed; leaves the queue when dropped.
pub struct HasherQueued(());

impl HasherQueued {
    /// Counts a password into the hasher's queue.
    pub fn enter() -> Self {
        METRICS.hasher_queue.inc();
        HasherQueued(())
    }
}

impl Drop for HasherQueued {
    fn drop(&mut self) {
        METRICS.hasher_queue.dec();
    }
}

/// Times one hasher operation (`hash` or `verify`) from its start.
pub fn hashed(operation: &str, started: Instant) {
    METRICS.hash_duration.with_label_values(&[operation]).observe(started.elapsed().as_secs_f64());
}

/// A lookup of `cache` found a servable entry (`hit`) or sent the caller to the store.
pub fn cache_lookup(cache: Cache, hit: bool) {
    METRICS.cache_lookups[cache as usize][usize::from(hit)].inc();
}

/// One store query took `elapsed`.
pub fn store_query(elapsed: Duration) {
    METRICS.store_queries.observe(elapsed.as_secs_f64());
}

/// A transaction collided; `retried` when it is tried again, else the write gave up.
pub fn store_conflict(retried: bool) {
    METRICS.store_conflicts.inc();
    if retried {
        METRICS.store_retries.inc();
    } else {
        METRICS.store_gave_up.inc();
    }
}

/// Replaces the active-session gauge with these counts (tenants absent now read zero no
/// more: their series are dropped).
pub fn set_active_sessions(counts: &[(String, i64)]) {
    METRICS.active_sessions.reset();
    for (tenant, count) in counts {
        METRICS.active_sessions.with_label_values(&[tenant.as_str()]).set(*count);
    }
}

/// A SCIM operation (`create`, `get`, `replace`, `patch`, `delete`, `search`, `bulk`) on a
/// resource (`User`, `Group`, `Bulk`, `Discovery`) ended with `result`.
pub fn scim_operation<T>(resource: &str, operation: &str, result: &Result<T, DomainError>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(DomainError::Unauthenticated(_) | DomainError::Forbidden) => "denied",
        Err(DomainError::NotFound) => "not_found",
        Err(DomainError::Conflict(_)) => "conflict",
        Err(DomainError::Scim(_) | DomainError::Invalid(_) | DomainError::Missing(_)) => "invalid",
        Err(_) => "error",
    };
    METRICS.scim_operations.with_label_values(&[resource, operation, outcome]).inc();
}

/// An audit event that could not be queued for the store.
pub fn audit_dropped() {
    METRICS.audit_dropped.inc();
}

/// Every series in Prometheus' text exposition format.
pub fn render() -> String {
    let mut buffer = Vec::new();
    let families = METRICS.registry.gather();
    if let Err(error) = TextEncoder::new().encode(&families, &mut buffer) {
        tracing::warn!(%error, "encoding metrics failed");
    }
    String::from_utf8(buffer).unwrap_or_default()
}

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_once_with_its_labels() {
        http_request(Some("/api/v1/users/{user_id}"), "GET", 200, Duration::from_millis(3));
        sign_in::<()>("password", &Err(DomainError::Throttled(3)));
        set_active_sessions(&[("acme".into(), 2)]);
        let text = render();
        assert!(text.contains(
            "tessera_http_requests_total{method=\"GET\",route=\"/api/v1/users/{user_id}\",status=\"200\"} 1"
        ));
        assert!(text.contains("tessera_sign_ins_total{method=\"password\",outcome=\"throttled\"} 1"));
        assert!(text.contains("tessera_throttled_attempts_total{limit=\"password_guessing\"} 1"));
        assert!(text.contains("tessera_active_sessions{tenant=\"acme\"} 2"));
        set_active_sessions(&[]);
        assert!(!render().contains("tessera_active_sessions{"), "a tenant without sessions has no series");
    }
}

//! Route registration that records what it registers: every (method, path template) comes
//! from the same calls that build the router, so the route list (`tessera routes`, and the
//! tenant-isolation matrix that walks it) cannot leave a route out.

use std::cell::RefCell;

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::{web, FromRequest, Handler, Responder};

thread_local! {
    /// The routes registered while [`list`] builds the router; `None` when serving.
    static RECORDED: RefCell<Option<Vec<RouteEntry>>> = const { RefCell::new(None) };
    /// The scope prefixes the registration is currently inside.
    static PREFIXES: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

/// One route: a method and a path template (`/t/{tenant}/api/v1/users/{user_id}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteEntry {
    pub method: &'static str,
    pub path: String,
}

fn record(method: &'static str, path: &str) {
    RECORDED.with_borrow_mut(|recorded| {
        if let Some(recorded) = recorded {
            let prefix: String = PREFIXES.with_borrow(|prefixes| prefixes.concat());
            recorded.push(RouteEntry { method, path: format!("{prefix}{path}") });
        }
    });
}

/// A resource whose routes are recorded as they are added.
pub struct Resource {
    path: &'static str,
    inner: actix_web::Resource,
}

/// Starts a resource at `path` (relative to the enclosing [`scope`]).
pub fn resource(path: &'static str) -> Resource {
    Resource { path, inner: web::resource(path) }
}

macro_rules! method {
    ($name:ident, $method:literal, $route:ident) => {
        #[doc = concat!("Answers `", $method, "` with `handler`.")]
        pub fn $name<F, Args>(self, handler: F) -> Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.add($method, web::$route().to(handler))
        }
    };
}

impl Resource {
    method!(get, "GET", get);
    method!(post, "POST", post);
    method!(put, "PUT", put);
    method!(patch, "PATCH", patch);
    method!(delete, "DELETE", delete);

    fn add(mut self, method: &'static str, route: actix_web::Route) -> Self {
        record(method, self.path);
        self.inner = self.inner.route(route);
        self
    }

    /// Request-scoped data for this resource only (e.g. a larger body limit).
    pub fn app_data<U: 'static>(mut self, data: U) -> Self {
        self.inner = self.inner.app_data(data);
        self
    }

    /// What answers the methods no route names (by default actix's 405).
    pub fn other_methods<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.inner = self.inner.default_service(web::to(handler));
        self
    }
}

impl HttpServiceFactory for Resource {
    fn register(self, config: &mut AppService) {
        self.inner.register(config);
    }
}

/// Registers `routes` under `prefix`, recording the prefix with each of them.
pub fn scope(cfg: &mut web::ServiceConfig, prefix: &'static str, routes: fn(&mut web::ServiceConfig)) {
    PREFIXES.with_borrow_mut(|prefixes| prefixes.push(prefix));
    cfg.service(web::scope(prefix).configure(routes));
    PREFIXES.with_borrow_mut(|prefixes| prefixes.pop());
}

/// Every route the server answers, sorted: the router is built once (not served) with
/// recording on.
pub fn list() -> Vec<RouteEntry> {
    RECORDED.with_borrow_mut(|recorded| *recorded = Some(Vec::new()));
    let _ = actix_web::App::new().configure(super::configure);
    let mut routes = RECORDED.with_borrow_mut(Option::take).unwrap_or_default();
    routes.sort();
    routes.dedup();
    routes
}

#[cfg(test)]
mod tests {
    use super::list;

    #[test]
    fn every_dialect_is_listed_at_the_root_and_per_tenant() {
        let routes = list();
        let has = |method: &str, path: &str| routes.iter().any(|route| route.method == method && route.path == path);
        assert!(has("GET", "/healthz"));
        for prefix in ["", "/t/{tenant}"] {
            assert!(has("GET", &format!("{prefix}/api/v1/users/{{user_id}}")), "{routes:?}");
            assert!(has("PATCH", &format!("{prefix}/v0/users/{{id}}")));
            assert!(has("DELETE", &format!("{prefix}/scim/v2/Groups/{{id}}")));
            assert!(has("POST", &format!("{prefix}/auth/saml/sp/consume/{{provider}}")));
            assert!(has("GET", &format!("{prefix}/sign_in")));
        }
        assert!(!routes.iter().any(|route| route.path.starts_with("/t/{tenant}/healthz")));
    }
}

//! The vendors' paths may start with an organization name (`/{org}/lease_/...`, and
//! `/{org}/{tenant}/api/account/authenticate` for UiPath's login). This layer runs before
//! routing: it takes the prefix off and leaves it in the request as [`OrgPrefix`].

use axum::extract::Request;
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;

/// The organization named by a path prefix.
#[derive(Debug, Clone)]
pub struct OrgPrefix(pub String);

/// First segments that belong to allot itself; anything else before a dialect root is a prefix.
const ROOTS: &[&str] = &[
    "api",
    "oauth",
    "lrm",
    "license_",
    "lease_",
    "la",
    "identity_",
    "docs",
    "healthz",
    "readyz",
    "metrics",
    "useradmin",
    "Auth",
];
/// Second segments that mark a prefixed dialect path.
const DIALECT_ROOTS: &[&str] = &["lrm", "license_", "lease_", "la", "identity_"];

pub async fn strip_org_prefix(mut request: Request, next: Next) -> Response {
    if let Some((org, rest)) = split(request.uri().path()) {
        let rest = match request.uri().query() {
            Some(query) => format!("{rest}?{query}"),
            None => rest,
        };
        if let Ok(uri) = rest.parse::<Uri>() {
            *request.uri_mut() = uri;
            request.extensions_mut().insert(OrgPrefix(org));
        }
    }
    next.run(request).await
}

fn split(path: &str) -> Option<(String, String)> {
    // Most paths start at a root of allot's: judged on their first segment, unsplit.
    let path = path.trim_start_matches('/');
    let first = path.split('/').next()?;
    if first.is_empty() || ROOTS.contains(&first) {
        return None;
    }
    let segments: Vec<&str> = path.split('/').collect();
    if segments.get(1).is_some_and(|s| DIALECT_ROOTS.contains(s)) {
        return Some((first.to_owned(), format!("/{}", segments[1..].join("/"))));
    }
    // UiPath's tenant-scoped login: /{org}/{tenant}/api/account/authenticate
    if segments.len() == 5 && segments[2..] == ["api", "account", "authenticate"] {
        return Some((first.to_owned(), "/api/account/authenticate".to_owned()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn prefixes_come_off_dialect_paths_only() {
        assert_eq!(
            split("/song-one/lease_/api/account/x/user-license"),
            Some(("song-one".into(), "/lease_/api/account/x/user-license".into()))
        );
        assert_eq!(
            split("/org/tenant/api/account/authenticate"),
            Some(("org".into(), "/api/account/authenticate".into()))
        );
        assert_eq!(
            split("/song-one/license_/api/account/x/account-license"),
            Some(("song-one".into(), "/license_/api/account/x/account-license".into()))
        );
        assert_eq!(split("/lease_/api/account/x/user-license"), None);
        assert_eq!(split("/license_/api/account/x/account-license"), None);
        assert_eq!(split("/api/v1/orgs/lrm"), None);
        assert_eq!(split("/anything/else"), None);
    }
}

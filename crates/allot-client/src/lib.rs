//! A typed client of allot's native API, on reqwest, speaking allot-api's types. An error
//! answer comes back as the server's problem (RFC 9457), with its stable code.

use allot_api::{
    CheckAnswer, CreateGroup, CreateOrg, CreateTenant, CreateUser, ErrorCode, GroupList, GroupRule, GroupRuleView,
    GroupView, LedgerPage, LedgerParams, MemberList, OrgList, OrgView, PageQuery, PlanRequest, PlanView, PoolList,
    Problem, SetPools, SetUserLicenses, TenantView, UserLicenses, UserPage, UserView,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a problem.
    #[error("{status}: {} ({})", .problem.detail, .problem.code)]
    Problem { status: StatusCode, problem: Box<Problem> },
    /// The server answered something that is not the API's shape.
    #[error("{status}: unexpected answer: {body}")]
    Unexpected { status: StatusCode, body: String },
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

impl Error {
    /// The problem's stable code, for an answer that carried one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Problem { problem, .. } => Some(problem.code),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Problem { status, .. } | Error::Unexpected { status, .. } => Some(*status),
            Error::Http(error) => error.status(),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// What a token request answers.
#[derive(Clone, serde::Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: u64,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// A client of one allot server, with a bearer token once logged in.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// Tokens are secrets: a client prints where it goes, not what it carries.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).field("token", &self.token.as_ref().map(|_| "…")).finish()
    }
}

impl Client {
    /// A client of the server at `base`, e.g. `http://127.0.0.1:8080`.
    pub fn new(base: impl Into<String>) -> Self {
        Self::with_http(reqwest::Client::new(), base)
    }

    pub fn with_http(http: reqwest::Client, base: impl Into<String>) -> Self {
        Self { http, base: base.into().trim_end_matches('/').to_owned(), token: None }
    }

    /// The same client, sending `token`.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Self { token: Some(token.into()), ..self.clone() }
    }

    /// Logs in with a password (`organization` for an organization's users).
    pub async fn login(&self, organization: Option<&str>, username: &str, password: &str) -> Result<Tokens> {
        let mut form = vec![("grant_type", "password"), ("username", username), ("password", password)];
        if let Some(org) = organization {
            form.push(("organization", org));
        }
        let response = self.http.post(format!("{}/oauth/token", self.base)).form(&form).send().await?;
        decode(response).await
    }

    async fn send<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<&impl Serialize>) -> Result<T> {
        let mut request = self.http.request(method, format!("{}/api/v1{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        decode(request.send().await?).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send(Method::GET, path, None::<&()>).await
    }

    async fn delete(&self, path: &str) -> Result<()> {
        self.send::<Empty>(Method::DELETE, path, None::<&()>).await.map(drop)
    }

    // Organizations.
    pub async fn orgs(&self) -> Result<OrgList> {
        self.get("/orgs").await
    }

    pub async fn create_org(&self, body: &CreateOrg) -> Result<OrgView> {
        self.send(Method::POST, "/orgs", Some(body)).await
    }

    pub async fn org(&self, org: &str) -> Result<OrgView> {
        self.get(&format!("/orgs/{}", seg(org))).await
    }

    pub async fn delete_org(&self, org: &str) -> Result<()> {
        self.delete(&format!("/orgs/{}", seg(org))).await
    }

    // Users.
    pub async fn users(&self, org: &str, page: &PageQuery) -> Result<UserPage> {
        let mut path = format!("/orgs/{}/users?", seg(org));
        if let Some(limit) = page.limit {
            path.push_str(&format!("limit={limit}&"));
        }
        if let Some(after) = &page.after {
            path.push_str(&format!("after={}", seg(after)));
        }
        self.get(path.trim_end_matches(['?', '&'])).await
    }

    pub async fn create_user(&self, org: &str, body: &CreateUser) -> Result<UserView> {
        self.send(Method::POST, &format!("/orgs/{}/users", seg(org)), Some(body)).await
    }

    pub async fn user(&self, org: &str, user: &str) -> Result<UserView> {
        self.get(&format!("/orgs/{}/users/{}", seg(org), seg(user))).await
    }

    pub async fn delete_user(&self, org: &str, user: &str) -> Result<()> {
        self.delete(&format!("/orgs/{}/users/{}", seg(org), seg(user))).await
    }

    // Groups and tenants.
    pub async fn groups(&self, org: &str) -> Result<GroupList> {
        self.get(&format!("/orgs/{}/groups", seg(org))).await
    }

    pub async fn create_group(&self, org: &str, body: &CreateGroup) -> Result<GroupView> {
        self.send(Method::POST, &format!("/orgs/{}/groups", seg(org)), Some(body)).await
    }

    pub async fn add_member(&self, org: &str, group: &str, user: &str) -> Result<MemberList> {
        let body = allot_api::AddMember { user: user.to_owned() };
        self.send(Method::POST, &format!("/orgs/{}/groups/{}/members", seg(org), seg(group)), Some(&body)).await
    }

    pub async fn remove_member(&self, org: &str, group: &str, user: &str) -> Result<()> {
        self.delete(&format!("/orgs/{}/groups/{}/members/{}", seg(org), seg(group), seg(user))).await
    }

    pub async fn create_tenant(&self, org: &str, body: &CreateTenant) -> Result<TenantView> {
        self.send(Method::POST, &format!("/orgs/{}/tenants", seg(org)), Some(body)).await
    }

    // Pools.
    pub async fn host_pools(&self) -> Result<PoolList> {
        self.get("/host/pools").await
    }

    pub async fn set_host_pools(&self, body: &SetPools) -> Result<PoolList> {
        self.send(Method::PUT, "/host/pools", Some(body)).await
    }

    pub async fn org_pools(&self, org: &str) -> Result<PoolList> {
        self.get(&format!("/orgs/{}/pools", seg(org))).await
    }

    pub async fn set_org_pools(&self, org: &str, body: &SetPools) -> Result<PoolList> {
        self.send(Method::PUT, &format!("/orgs/{}/pools", seg(org)), Some(body)).await
    }

    pub async fn set_service_pools(&self, org: &str, tenant: &str, service: &str, body: &SetPools) -> Result<PoolList> {
        let path = format!("/orgs/{}/tenants/{}/services/{}/pools", seg(org), seg(tenant), seg(service));
        self.send(Method::PUT, &path, Some(body)).await
    }

    // Holdings and the check.
    pub async fn user_licenses(&self, org: &str, user: &str) -> Result<UserLicenses> {
        self.get(&format!("/orgs/{}/users/{}/licenses", seg(org), seg(user))).await
    }

    pub async fn set_user_licenses(&self, org: &str, user: &str, body: &SetUserLicenses) -> Result<UserLicenses> {
        self.send(Method::PUT, &format!("/orgs/{}/users/{}/licenses", seg(org), seg(user)), Some(body)).await
    }

    pub async fn check(&self, org: &str, user: &str, license: &str) -> Result<CheckAnswer> {
        self.get(&format!("/orgs/{}/users/{}/licenses/{}", seg(org), seg(user), seg(license))).await
    }

    pub async fn set_group_rule(&self, org: &str, group: &str, body: &GroupRule) -> Result<GroupRuleView> {
        self.send(Method::PUT, &format!("/orgs/{}/groups/{}/licenses", seg(org), seg(group)), Some(body)).await
    }

    // Plans and the ledger.
    pub async fn plan(&self, org: &str, body: &PlanRequest) -> Result<PlanView> {
        self.send(Method::POST, &format!("/orgs/{}/plans", seg(org)), Some(body)).await
    }

    pub async fn apply_plan(&self, org: &str, id: &str) -> Result<PlanView> {
        self.send(Method::POST, &format!("/orgs/{}/plans/{}/apply", seg(org), seg(id)), None::<&()>).await
    }

    pub async fn ledger(&self, org: &str, params: &LedgerParams) -> Result<LedgerPage> {
        let query = serde_json::to_value(params).unwrap_or_default();
        let pairs: Vec<String> = query
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}={}", seg(v.to_string().trim_matches('"'))))
            .collect();
        let path = format!("/orgs/{}/ledger?{}", seg(org), pairs.join("&"));
        self.get(path.trim_end_matches('?')).await
    }
}

/// An answer with no body (204).
struct Empty;

impl<'de> serde::Deserialize<'de> for Empty {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Empty)
    }
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    let status = response.status();
    let bytes = response.bytes().await?;
    if status.is_success() {
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        return serde_json::from_slice(bytes)
            .map_err(|_| Error::Unexpected { status, body: String::from_utf8_lossy(bytes).into_owned() });
    }
    match serde_json::from_slice::<Problem>(&bytes) {
        Ok(problem) => Err(Error::Problem { status, problem: Box::new(problem) }),
        Err(_) => Err(Error::Unexpected { status, body: String::from_utf8_lossy(&bytes).into_owned() }),
    }
}

/// A path segment, percent-encoded; `.` and `..` too, which URL parsers would otherwise
/// resolve away.
fn seg(raw: &str) -> String {
    if raw == "." || raw == ".." {
        return raw.replace('.', "%2E");
    }
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' | b'@' | b'+' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn segments_are_escaped_and_dot_segments_survive() {
        assert_eq!(super::seg("a b/c"), "a%20b%2Fc");
        assert_eq!(super::seg("analytics:creator"), "analytics:creator");
        assert_eq!(super::seg(".."), "%2E%2E");
        assert_eq!(super::seg("."), "%2E");
        assert_eq!(super::seg("a.b"), "a.b");
    }

    #[test]
    fn a_client_does_not_print_its_token() {
        let client = super::Client::new("http://127.0.0.1:1").with_token("allot_at_secret");
        assert!(!format!("{client:?}").contains("secret"));
    }
}

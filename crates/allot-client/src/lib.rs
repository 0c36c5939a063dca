//! A typed client of allot's native API, on reqwest, speaking allot-api's types. An error
//! answer comes back as the server's problem (RFC 9457), with its stable code.
//!
//! Each operation answers a [`Call`]: awaited, it answers the body; before that it takes the
//! request's options ([`Call::if_match`], [`Call::idempotency_key`], [`Call::min_revision`]),
//! and [`Call::answer`] answers the body with the headers a caller may act on.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use allot_api::{
    AdminList, AdminView, CheckAnswer, ClientList, CreateAdmin, CreateClient, CreateGroup, CreateOrg, CreateScimToken,
    CreateTenant, CreateUser, CreatedClient, CreatedScimToken, ErrorCode, GroupList, GroupRule, GroupRuleView,
    GroupView, Holders, HoldersQuery, LedgerPage, LedgerParams, MemberList, OrgList, OrgView, PageQuery, PlanRequest,
    PlanView, PoolList, Problem, ProductList, ProductView, ScimTokenList, SetPassword, SetPools, SetUserLicenses,
    TenantList, TenantView, UpdateOrg, UpdateUser, Usage, UsageQuery, UserLicenses, UserPage, UserQuery, UserView,
};
use reqwest::header::{HeaderMap, HeaderName};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a problem.
    #[error("{status}: {} ({})", .problem.detail, .problem.code)]
    Problem {
        status: StatusCode,
        problem: Box<Problem>,
        /// `allot-revision`: the revision the refusal was given at.
        revision: Option<u64>,
        /// `Retry-After`, in seconds: when a refusal is worth trying again.
        retry_after: Option<u64>,
    },
    /// The server answered something that is not the API's shape (a problem not sent as
    /// `application/problem+json` included).
    #[error("{status}: unexpected answer: {body}")]
    Unexpected { status: StatusCode, body: String },
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

impl Error {
    /// The problem's stable code, for an answer that carried one.
    pub fn code(&self) -> Option<ErrorCode> {
        self.problem().map(|problem| problem.code)
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Problem { status, .. } | Error::Unexpected { status, .. } => Some(*status),
            Error::Http(error) => error.status(),
        }
    }

    /// The whole problem: its detail, and for refused plans the violations and the plan.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Problem { problem, .. } => Some(problem),
            _ => None,
        }
    }

    pub fn revision(&self) -> Option<u64> {
        match self {
            Error::Problem { revision, .. } => *revision,
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Problem { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// An answer's body with the headers a caller may act on.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub body: T,
    /// `allot-revision`: the revision the answer was given at.
    pub revision: Option<u64>,
    /// `ETag`, where the resource has one: send it back with [`Call::if_match`].
    pub etag: Option<String>,
    /// `Idempotent-Replayed`: the first answer for this `Idempotency-Key`, again.
    pub replayed: bool,
}

/// One request, not yet sent: await it for the body, or [`Call::answer`] it for the
/// headers too.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<T> {
    request: reqwest::RequestBuilder,
    answer: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Call<T> {
    /// Applies only if the resource still has this ETag (`*`: any); else 412.
    pub fn if_match(self, etag: &str) -> Self {
        self.header(reqwest::header::IF_MATCH, etag)
    }

    /// Retries with the same key replay the first answer and change nothing again.
    pub fn idempotency_key(self, key: &str) -> Self {
        self.header(HeaderName::from_static("idempotency-key"), key)
    }

    /// The answer reflects revision `revision` or later (or is a 503 `unavailable`).
    pub fn min_revision(self, revision: u64) -> Self {
        Self { request: self.request.query(&[("min_revision", revision)]), answer: PhantomData }
    }

    fn header(self, name: HeaderName, value: &str) -> Self {
        Self { request: self.request.header(name, value), answer: PhantomData }
    }

    /// Sends the request; answers the body with the answer's revision, ETag and whether it
    /// was replayed.
    pub async fn answer(self) -> Result<Answer<T>> {
        let response = self.request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let revision = number(&headers, "allot-revision");
        if !status.is_success() {
            return Err(refusal(status, &headers, &bytes, revision));
        }
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        let body = serde_json::from_slice(bytes)
            .map_err(|_| Error::Unexpected { status, body: String::from_utf8_lossy(bytes).into_owned() })?;
        let etag = text(&headers, "etag").map(str::to_owned);
        Ok(Answer { body, revision, etag, replayed: headers.contains_key("idempotent-replayed") })
    }
}

impl<T: DeserializeOwned + Send + 'static> IntoFuture for Call<T> {
    type Output = Result<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.answer().await.map(|answer| answer.body) })
    }
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    text(headers, name).and_then(|value| value.parse().ok())
}

/// A refusal: the server's problem when it sent one as problem+json, else what it sent.
fn refusal(status: StatusCode, headers: &HeaderMap, bytes: &[u8], revision: Option<u64>) -> Error {
    let problem_json = text(headers, "content-type") == Some("application/problem+json");
    match serde_json::from_slice::<Problem>(bytes) {
        Ok(problem) if problem_json => {
            Error::Problem { status, problem: Box::new(problem), revision, retry_after: number(headers, "retry-after") }
        }
        _ => Error::Unexpected { status, body: String::from_utf8_lossy(bytes).into_owned() },
    }
}

/// What a token request answers.
#[derive(Clone, serde::Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: u64,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The scope granted.
    #[serde(default)]
    pub scope: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
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
        self.token_request(&form).await
    }

    /// Logs an API client in with its secret, asking for `scope` (all it was granted when
    /// absent).
    pub async fn client_credentials(&self, client_id: &str, secret: &str, scope: Option<&str>) -> Result<Tokens> {
        let mut form = vec![("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token_request(&form).await
    }

    /// Trades a refresh token (it works once) for new tokens.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens> {
        self.token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    /// Revokes an access or refresh token (a logout).
    pub async fn revoke(&self, token: &str) -> Result<()> {
        let request = self.http.post(format!("{}/oauth/revoke", self.base)).form(&[("token", token)]);
        Call { request, answer: PhantomData }.await
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<Tokens> {
        let request = self.http.post(format!("{}/oauth/token", self.base)).form(form);
        Call { request, answer: PhantomData }.await
    }

    fn call<T>(&self, method: Method, path: &str) -> Call<T> {
        let mut request = self.http.request(method, format!("{}/api/v1{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        Call { request, answer: PhantomData }
    }

    fn get<T>(&self, path: &str) -> Call<T> {
        self.call(Method::GET, path)
    }

    fn get_with<T>(&self, path: &str, query: &impl Serialize) -> Call<T> {
        let Call { request, answer } = self.get(path);
        Call { request: request.query(query), answer }
    }

    fn send<T>(&self, method: Method, path: &str, body: &impl Serialize) -> Call<T> {
        let Call { request, answer } = self.call(method, path);
        Call { request: request.json(body), answer }
    }

    fn delete(&self, path: &str) -> Call<()> {
        self.call(Method::DELETE, path)
    }

    // Organizations.
    pub fn orgs(&self) -> Call<OrgList> {
        self.get("/orgs")
    }

    pub fn create_org(&self, body: &CreateOrg) -> Call<OrgView> {
        self.send(Method::POST, "/orgs", body)
    }

    pub fn org(&self, org: &str) -> Call<OrgView> {
        self.get(&format!("/orgs/{}", seg(org)))
    }

    pub fn update_org(&self, org: &str, body: &UpdateOrg) -> Call<OrgView> {
        self.send(Method::PATCH, &format!("/orgs/{}", seg(org)), body)
    }

    pub fn delete_org(&self, org: &str) -> Call<()> {
        self.delete(&format!("/orgs/{}", seg(org)))
    }

    // Users.
    pub fn users(&self, org: &str, page: &PageQuery) -> Call<UserPage> {
        self.get_with(&format!("/orgs/{}/users", seg(org)), page)
    }

    /// The users that pass `query`'s filters, a page at a time (with their licenses if it
    /// asks for them).
    pub fn users_where(&self, org: &str, query: &UserQuery) -> Call<UserPage> {
        self.get_with(&format!("/orgs/{}/users", seg(org)), query)
    }

    pub fn create_user(&self, org: &str, body: &CreateUser) -> Call<UserView> {
        self.send(Method::POST, &format!("/orgs/{}/users", seg(org)), body)
    }

    pub fn user(&self, org: &str, user: &str) -> Call<UserView> {
        self.get(&format!("/orgs/{}/users/{}", seg(org), seg(user)))
    }

    pub fn update_user(&self, org: &str, user: &str, body: &UpdateUser) -> Call<UserView> {
        self.send(Method::PATCH, &format!("/orgs/{}/users/{}", seg(org), seg(user)), body)
    }

    pub fn delete_user(&self, org: &str, user: &str) -> Call<()> {
        self.delete(&format!("/orgs/{}/users/{}", seg(org), seg(user)))
    }

    pub fn set_password(&self, org: &str, user: &str, password: &str) -> Call<()> {
        let body = SetPassword { password: password.to_owned() };
        self.send(Method::PUT, &format!("/orgs/{}/users/{}/password", seg(org), seg(user)), &body)
    }

    /// Lifts a user's login lockout.
    pub fn unlock_user(&self, org: &str, user: &str) -> Call<()> {
        self.call(Method::POST, &format!("/orgs/{}/users/{}/unlock", seg(org), seg(user)))
    }

    // Host administrators.
    pub fn admins(&self) -> Call<AdminList> {
        self.get("/host/admins")
    }

    pub fn create_admin(&self, name: &str, password: &str) -> Call<AdminView> {
        let body = CreateAdmin { name: name.to_owned(), password: password.to_owned() };
        self.send(Method::POST, "/host/admins", &body)
    }

    pub fn delete_admin(&self, admin: &str) -> Call<()> {
        self.delete(&format!("/host/admins/{}", seg(admin)))
    }

    pub fn set_admin_password(&self, admin: &str, password: &str) -> Call<()> {
        let body = SetPassword { password: password.to_owned() };
        self.send(Method::PUT, &format!("/host/admins/{}/password", seg(admin)), &body)
    }

    /// Lifts a host administrator's login lockout.
    pub fn unlock_admin(&self, admin: &str) -> Call<()> {
        self.call(Method::POST, &format!("/host/admins/{}/unlock", seg(admin)))
    }

    // Groups and their members.
    pub fn groups(&self, org: &str) -> Call<GroupList> {
        self.get(&format!("/orgs/{}/groups", seg(org)))
    }

    pub fn create_group(&self, org: &str, body: &CreateGroup) -> Call<GroupView> {
        self.send(Method::POST, &format!("/orgs/{}/groups", seg(org)), body)
    }

    pub fn group(&self, org: &str, group: &str) -> Call<GroupView> {
        self.get(&format!("/orgs/{}/groups/{}", seg(org), seg(group)))
    }

    pub fn delete_group(&self, org: &str, group: &str) -> Call<()> {
        self.delete(&format!("/orgs/{}/groups/{}", seg(org), seg(group)))
    }

    pub fn members(&self, org: &str, group: &str) -> Call<MemberList> {
        self.get(&format!("/orgs/{}/groups/{}/members", seg(org), seg(group)))
    }

    pub fn add_member(&self, org: &str, group: &str, user: &str) -> Call<MemberList> {
        let body = allot_api::AddMember { user: user.to_owned() };
        self.send(Method::POST, &format!("/orgs/{}/groups/{}/members", seg(org), seg(group)), &body)
    }

    pub fn remove_member(&self, org: &str, group: &str, user: &str) -> Call<()> {
        self.delete(&format!("/orgs/{}/groups/{}/members/{}", seg(org), seg(group), seg(user)))
    }

    // Tenants.
    pub fn tenants(&self, org: &str) -> Call<TenantList> {
        self.get(&format!("/orgs/{}/tenants", seg(org)))
    }

    pub fn create_tenant(&self, org: &str, body: &CreateTenant) -> Call<TenantView> {
        self.send(Method::POST, &format!("/orgs/{}/tenants", seg(org)), body)
    }

    pub fn tenant(&self, org: &str, tenant: &str) -> Call<TenantView> {
        self.get(&format!("/orgs/{}/tenants/{}", seg(org), seg(tenant)))
    }

    pub fn delete_tenant(&self, org: &str, tenant: &str) -> Call<()> {
        self.delete(&format!("/orgs/{}/tenants/{}", seg(org), seg(tenant)))
    }

    // The catalogue.
    pub fn products(&self) -> Call<ProductList> {
        self.get("/products")
    }

    pub fn create_product(&self, body: &ProductView) -> Call<ProductView> {
        self.send(Method::POST, "/products", body)
    }

    // Pools.
    pub fn host_pools(&self) -> Call<PoolList> {
        self.get("/host/pools")
    }

    pub fn set_host_pools(&self, body: &SetPools) -> Call<PoolList> {
        self.send(Method::PUT, "/host/pools", body)
    }

    pub fn org_pools(&self, org: &str) -> Call<PoolList> {
        self.get(&format!("/orgs/{}/pools", seg(org)))
    }

    pub fn set_org_pools(&self, org: &str, body: &SetPools) -> Call<PoolList> {
        self.send(Method::PUT, &format!("/orgs/{}/pools", seg(org)), body)
    }

    pub fn service_pools(&self, org: &str, tenant: &str, service: &str) -> Call<PoolList> {
        self.get(&service_pools(org, tenant, service))
    }

    pub fn set_service_pools(&self, org: &str, tenant: &str, service: &str, body: &SetPools) -> Call<PoolList> {
        self.send(Method::PUT, &service_pools(org, tenant, service), body)
    }

    // Holdings and the check.
    pub fn user_licenses(&self, org: &str, user: &str) -> Call<UserLicenses> {
        self.get(&format!("/orgs/{}/users/{}/licenses", seg(org), seg(user)))
    }

    /// The user's licenses as they stood at `as_of` (RFC 3339), replayed from the ledger.
    pub fn user_licenses_as_of(&self, org: &str, user: &str, as_of: &str) -> Call<UserLicenses> {
        self.get_with(&format!("/orgs/{}/users/{}/licenses", seg(org), seg(user)), &[("as_of", as_of)])
    }

    pub fn set_user_licenses(&self, org: &str, user: &str, body: &SetUserLicenses) -> Call<UserLicenses> {
        self.send(Method::PUT, &format!("/orgs/{}/users/{}/licenses", seg(org), seg(user)), body)
    }

    pub fn check(&self, org: &str, user: &str, license: &str) -> Call<CheckAnswer> {
        self.get(&format!("/orgs/{}/users/{}/licenses/{}", seg(org), seg(user), seg(license)))
    }

    pub fn group_rule(&self, org: &str, group: &str) -> Call<GroupRuleView> {
        self.get(&format!("/orgs/{}/groups/{}/licenses", seg(org), seg(group)))
    }

    pub fn set_group_rule(&self, org: &str, group: &str, body: &GroupRule) -> Call<GroupRuleView> {
        self.send(Method::PUT, &format!("/orgs/{}/groups/{}/licenses", seg(org), seg(group)), body)
    }

    // Plans, the ledger and the past.
    pub fn plan(&self, org: &str, body: &PlanRequest) -> Call<PlanView> {
        self.send(Method::POST, &format!("/orgs/{}/plans", seg(org)), body)
    }

    pub fn apply_plan(&self, org: &str, id: &str) -> Call<PlanView> {
        self.call(Method::POST, &format!("/orgs/{}/plans/{}/apply", seg(org), seg(id)))
    }

    pub fn ledger(&self, org: &str, params: &LedgerParams) -> Call<LedgerPage> {
        self.get_with(&format!("/orgs/{}/ledger", seg(org)), params)
    }

    pub fn holders(&self, org: &str, query: &HoldersQuery) -> Call<Holders> {
        self.get_with(&format!("/orgs/{}/holders", seg(org)), query)
    }

    pub fn usage(&self, org: &str, query: &UsageQuery) -> Call<Usage> {
        self.get_with(&format!("/orgs/{}/usage", seg(org)), query)
    }

    // API clients.
    pub fn clients(&self, org: &str) -> Call<ClientList> {
        self.get(&format!("/orgs/{}/clients", seg(org)))
    }

    pub fn create_client(&self, org: &str, body: &CreateClient) -> Call<CreatedClient> {
        self.send(Method::POST, &format!("/orgs/{}/clients", seg(org)), body)
    }

    pub fn delete_client(&self, org: &str, client_id: &str) -> Call<()> {
        self.delete(&format!("/orgs/{}/clients/{}", seg(org), seg(client_id)))
    }

    pub fn scim_tokens(&self, org: &str, client_id: &str) -> Call<ScimTokenList> {
        self.get(&format!("/orgs/{}/clients/{}/scim-tokens", seg(org), seg(client_id)))
    }

    pub fn create_scim_token(&self, org: &str, client_id: &str, body: &CreateScimToken) -> Call<CreatedScimToken> {
        self.send(Method::POST, &format!("/orgs/{}/clients/{}/scim-tokens", seg(org), seg(client_id)), body)
    }

    pub fn revoke_scim_token(&self, org: &str, client_id: &str, id: &str) -> Call<()> {
        self.delete(&format!("/orgs/{}/clients/{}/scim-tokens/{}", seg(org), seg(client_id), seg(id)))
    }
}

fn service_pools(org: &str, tenant: &str, service: &str) -> String {
    format!("/orgs/{}/tenants/{}/services/{}/pools", seg(org), seg(tenant), seg(service))
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

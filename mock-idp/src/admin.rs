//! The admin API under `/admin`: JSON over HTTP for tests in any language. Each handler only translates
//! HTTP to the operations the Rust handle calls ([`Hub`], [`Handle`]); errors are
//! `{"error", "error_description"}` with a 4xx status naming the bad field. The OpenAPI document at
//! `/admin/openapi.json` is generated from the handlers' types by `utoipa`.
//!
//! Off by default. When on, a bearer token is required if one is configured (`admin_token`,
//! `--admin-token`, `MOCK_IDP_ADMIN_TOKEN`) or if the server listens on a non-loopback address (a token
//! is then generated and printed by the CLI when none is configured).

use std::net::IpAddr;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use subtle::ConstantTimeEq;
#[cfg(feature = "openapi")]
use utoipa::{OpenApi, ToSchema};

use crate::{
    config::Config,
    faults::{ArmedFault, Fault, FaultError, FaultSpec},
    handle::Handle,
    model::{ClientConfig, UserConfig},
    requests::RequestRecord,
    state::{MAX_NEXT_LOGINS, secret_hash},
    tenants::{Hub, TenantError},
    verdict::Verdict,
};

/// Who may use the admin API.
#[derive(Clone)]
pub struct AdminAuth {
    /// SHA-256 of the required bearer token; `None` when no token is needed (loopback, none set).
    token_hash: Option<[u8; 32]>,
    /// The token itself when it was generated here (so the CLI can print it once).
    generated: Option<String>,
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAuth")
            .field("token_required", &self.token_hash.is_some())
            .finish_non_exhaustive()
    }
}

impl AdminAuth {
    /// The rule for a server with `config` bound to `ip`; `None` when the admin API is off.
    pub fn from_config(config: &Config, ip: IpAddr) -> Option<AdminAuth> {
        if !config.admin {
            return None;
        }
        let configured = config.admin_token.as_ref().map(|t| t.expose().to_owned());
        let (token, generated) = match configured {
            Some(t) => (Some(t), None),
            None if !ip.is_loopback() => {
                let t = crate::state::random_token(24);
                (Some(t.clone()), Some(t))
            }
            None => (None, None),
        };
        Some(AdminAuth {
            token_hash: token.as_deref().map(secret_hash),
            generated,
        })
    }

    /// Whether requests need a bearer token.
    pub fn token_required(&self) -> bool {
        self.token_hash.is_some()
    }

    /// A token generated at start because none was configured for a non-loopback address.
    pub fn generated_token(&self) -> Option<&str> {
        self.generated.as_deref()
    }

    fn allows(&self, authorization: Option<&str>) -> bool {
        let Some(expected) = &self.token_hash else {
            return true;
        };
        let presented = authorization
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim());
        presented.is_some_and(|t| bool::from(secret_hash(t).ct_eq(expected)))
    }
}

/// An admin error: `{"error", "error_description"}`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    /// `invalid_request`, `not_found`, `conflict`, `unauthorized` or `unavailable`.
    pub error: String,
    /// What was wrong, naming the field.
    pub error_description: String,
}

/// An admin error with its status.
#[derive(Debug)]
pub struct AdminError(StatusCode, &'static str, String);

impl AdminError {
    fn bad(description: impl Into<String>) -> Self {
        AdminError(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            description.into(),
        )
    }
    fn not_found(description: impl Into<String>) -> Self {
        AdminError(StatusCode::NOT_FOUND, "not_found", description.into())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut response = (
            self.0,
            Json(ErrorBody {
                error: self.1.to_owned(),
                error_description: self.2,
            }),
        )
            .into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"mock-idp admin\""),
            );
        }
        response
    }
}

impl From<TenantError> for AdminError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::Exists(_) => AdminError(StatusCode::CONFLICT, "conflict", e.to_string()),
            TenantError::Full => AdminError(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            ),
            TenantError::BadName(_) | TenantError::Reserved => {
                AdminError::bad(format!("name: {e}"))
            }
            TenantError::Config(_) | TenantError::Key(_) => AdminError::bad(format!("config: {e}")),
        }
    }
}

impl From<FaultError> for AdminError {
    fn from(e: FaultError) -> Self {
        match e {
            FaultError::NotFound(_) => AdminError::not_found(e.to_string()),
            FaultError::UnknownName(_) | FaultError::UnexpectedValue(_) => {
                AdminError::bad(format!("name: {e}"))
            }
            FaultError::MissingValue { .. } | FaultError::BadValue { .. } => {
                AdminError::bad(format!("value: {e}"))
            }
            FaultError::ZeroTimes => AdminError::bad(format!("times: {e}")),
            FaultError::Unscopable(_) => AdminError::bad(format!("client_id/username: {e}")),
        }
    }
}

/// Parses a JSON body; an empty body reads as `{}`. Serde's message names the field.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, AdminError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| AdminError::bad(format!("body: {e}")))
}

fn provider(hub: &Hub, tenant: &str) -> Result<Handle, AdminError> {
    if tenant == "root" {
        return Ok(Handle::of(hub.root().clone()));
    }
    hub.get(tenant)
        .map(Handle::of)
        .ok_or_else(|| AdminError::not_found(format!("tenant: no tenant {tenant:?}")))
}

/// `POST /admin/tenants`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// 1–64 characters of `[A-Za-z0-9_-]`; generated when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// A configuration of the config file's shape (without `issuer` and `address`); without it the tenant
    /// copies the root's clients, users and lifetimes.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub config: Option<Value>,
}

/// A tenant.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TenantInfo {
    /// Its name.
    pub name: String,
    /// Its issuer, `http://HOST:PORT/t/NAME`.
    pub issuer: String,
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/admin/tenants", request_body = CreateTenant,
    responses((status = 201, body = TenantInfo), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody))))]
async fn create_tenant(State(hub): State<Hub>, bytes: Bytes) -> Result<Response, AdminError> {
    let request: CreateTenant = body(&bytes)?;
    let config = match request.config {
        Some(v) => Some(
            serde_json::from_value::<Config>(v)
                .map_err(|e| AdminError::bad(format!("config: {e}")))?,
        ),
        None => None,
    };
    let state = hub.create(request.name.as_deref(), config)?;
    let name = state
        .base_path
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let info = TenantInfo {
        name,
        issuer: state.issuer.clone(),
    };
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/admin/tenants", responses((status = 200, body = Vec<TenantInfo>))))]
async fn list_tenants(State(hub): State<Hub>) -> Json<Vec<TenantInfo>> {
    Json(
        hub.list()
            .into_iter()
            .map(|(name, issuer)| TenantInfo { name, issuer })
            .collect(),
    )
}

#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/admin/tenants/{name}", params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody))))]
async fn delete_tenant(
    State(hub): State<Hub>,
    Path(name): Path<String>,
) -> Result<StatusCode, AdminError> {
    if hub.delete(&name) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AdminError::not_found(format!("name: no tenant {name:?}")))
    }
}

/// What was added.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Added {
    /// The username or client id.
    pub id: String,
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/admin/tenants/{tenant}/users", request_body = UserConfig,
    params(("tenant" = String, Path, description = "a tenant name, or `root`")),
    responses((status = 201, body = Added), (status = 400, body = ErrorBody))))]
async fn add_user(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let p = provider(&hub, &tenant)?;
    let user: UserConfig = body(&bytes)?;
    let id = user.username.clone();
    p.add_user(user)
        .map_err(|e| AdminError::bad(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(Added { id })).into_response())
}

#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/admin/tenants/{tenant}/users/{username}",
    params(("tenant" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody))))]
async fn delete_user(
    State(hub): State<Hub>,
    Path((tenant, username)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    if provider(&hub, &tenant)?.remove_user(&username) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AdminError::not_found(format!(
            "username: no user {username:?}"
        )))
    }
}

#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/admin/tenants/{tenant}/clients/{client_id}/consents/{username}",
    params(("tenant" = String, Path), ("client_id" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody))))]
/// Apple persona: the user revokes the app; their next authorization carries the `user` field again.
async fn forget_consent(
    State(hub): State<Hub>,
    Path((tenant, client_id, username)): Path<(String, String, String)>,
) -> Result<StatusCode, AdminError> {
    if provider(&hub, &tenant)?.forget_consent(&client_id, &username) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AdminError::not_found(format!(
            "username: {username:?} has not authorized {client_id:?}"
        )))
    }
}

/// What a provider-initiated logout did: one back-channel delivery per client session that ended.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoggedOut {
    /// Each delivery as `client_id: outcome` (an HTTP status, `timed out`, or a connection error).
    pub backchannel: Vec<String>,
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/admin/tenants/{tenant}/users/{username}/logout",
    params(("tenant" = String, Path), ("username" = String, Path)),
    responses((status = 200, body = LoggedOut), (status = 404, body = ErrorBody))))]
async fn logout_user(
    State(hub): State<Hub>,
    Path((tenant, username)): Path<(String, String)>,
) -> Result<Json<LoggedOut>, AdminError> {
    let deliveries = provider(&hub, &tenant)?
        .logout(&username)
        .await
        .ok_or_else(|| AdminError::not_found(format!("username: no user {username:?}")))?;
    Ok(Json(LoggedOut {
        backchannel: deliveries.iter().map(ToString::to_string).collect(),
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/admin/tenants/{tenant}/clients", request_body = ClientConfig,
    params(("tenant" = String, Path)),
    responses((status = 201, body = Added), (status = 400, body = ErrorBody))))]
async fn add_client(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let p = provider(&hub, &tenant)?;
    let client: ClientConfig = body(&bytes)?;
    let id = client.client_id.clone();
    p.add_client(client)
        .map_err(|e| AdminError::bad(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(Added { id })).into_response())
}

#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/admin/tenants/{tenant}/clients/{client_id}",
    params(("tenant" = String, Path), ("client_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody))))]
async fn delete_client(
    State(hub): State<Hub>,
    Path((tenant, client_id)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    if provider(&hub, &tenant)?.remove_client(&client_id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AdminError::not_found(format!(
            "client_id: no client {client_id:?}"
        )))
    }
}

/// `POST /admin/tenants/{tenant}/next-login`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NextLogin {
    /// The user the next authorization request completes as, without the login page.
    pub username: String,
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/admin/tenants/{tenant}/next-login", request_body = NextLogin,
    params(("tenant" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody))))]
async fn next_login(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Result<StatusCode, AdminError> {
    let p = provider(&hub, &tenant)?;
    let request: NextLogin = body(&bytes)?;
    if p.state().user(&request.username).is_none() {
        return Err(AdminError::bad(format!(
            "username: no user {:?}",
            request.username
        )));
    }
    if !p.state().queue_next_login(&request.username) {
        return Err(AdminError(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("username: {MAX_NEXT_LOGINS} next logins are queued already"),
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/admin/tenants/{tenant}/tokens",
    request_body = crate::tokens::MintRequest,
    params(("tenant" = String, Path)),
    responses((status = 200, description = "the token endpoint's JSON body: access_token, token_type, expires_in, scope and, with openid, id_token"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))))]
async fn mint_tokens(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let p = provider(&hub, &tenant)?;
    let request: crate::tokens::MintRequest = body(&bytes)?;
    let tokens = p
        .mint_tokens(&request)
        .map_err(|e| AdminError::bad(e.to_string()))?;
    Ok(Json(tokens).into_response())
}

/// `POST /admin/tenants/{tenant}/clock`: one of the two.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClockChange {
    /// Seconds to move the clock forward.
    #[serde(default)]
    pub advance_secs: Option<u64>,
    /// Freeze (true) or let it run again (false).
    #[serde(default)]
    pub freeze: Option<bool>,
}

/// The provider's time.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ClockInfo {
    /// Seconds since the epoch.
    pub now: u64,
    /// Milliseconds since the epoch.
    pub now_ms: u64,
    /// Whether it is frozen.
    pub frozen: bool,
}

fn clock_info(p: &Handle) -> ClockInfo {
    ClockInfo {
        now: p.clock().now(),
        now_ms: p.clock().now_ms(),
        frozen: p.clock().is_frozen(),
    }
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/admin/tenants/{tenant}/clock", params(("tenant" = String, Path)),
    responses((status = 200, body = ClockInfo))))]
async fn get_clock(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
) -> Result<Json<ClockInfo>, AdminError> {
    Ok(Json(clock_info(&provider(&hub, &tenant)?)))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/admin/tenants/{tenant}/clock", request_body = ClockChange,
    params(("tenant" = String, Path)),
    responses((status = 200, body = ClockInfo), (status = 400, body = ErrorBody))))]
async fn change_clock(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Result<Json<ClockInfo>, AdminError> {
    let p = provider(&hub, &tenant)?;
    let change: ClockChange = body(&bytes)?;
    match (change.advance_secs, change.freeze) {
        (None, None) => return Err(AdminError::bad("advance_secs or freeze: give one")),
        (Some(_), Some(_)) => {
            return Err(AdminError::bad("advance_secs or freeze: give only one"));
        }
        (Some(secs), None) => p.clock().advance(std::time::Duration::from_secs(secs)),
        (None, Some(true)) => p.clock().freeze(),
        (None, Some(false)) => p.clock().unfreeze(),
    }
    Ok(Json(clock_info(&p)))
}

/// `POST /admin/tenants/{tenant}/faults`: the same fields as the config file's `[[faults]]`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddFault {
    /// The fault's name, e.g. `id_token.wrong_aud`.
    pub name: String,
    /// Its value, for faults that take one (`token.status` → `"503"`).
    #[serde(default)]
    pub value: Option<String>,
    /// How many responses it spoils; absent: until deleted.
    #[serde(default)]
    pub times: Option<u32>,
    /// Only responses to this client.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Only the flows of this user.
    #[serde(default)]
    pub username: Option<String>,
}

/// An armed fault.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FaultInfo {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its value, if it takes one.
    pub value: Option<String>,
    /// Responses it spoils in all; absent: until deleted.
    pub times: Option<u32>,
    /// Responses it has spoiled so far.
    pub applied: u32,
    /// Only this client.
    pub client_id: Option<String>,
    /// Only this user.
    pub username: Option<String>,
}

impl FaultInfo {
    /// What the registry lists about an armed fault, as JSON.
    fn of(a: ArmedFault) -> FaultInfo {
        FaultInfo {
            id: a.id,
            name: a.spec.fault.name().to_owned(),
            value: a.spec.fault.value(),
            times: a.spec.times,
            applied: a.applied,
            client_id: a.spec.client_id,
            username: a.spec.username,
        }
    }
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/admin/tenants/{tenant}/faults", request_body = AddFault,
    params(("tenant" = String, Path)),
    responses((status = 201, body = FaultInfo), (status = 400, body = ErrorBody))))]
async fn add_fault(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let p = provider(&hub, &tenant)?;
    let request: AddFault = body(&bytes)?;
    let spec = FaultSpec {
        fault: Fault::parse(&request.name, request.value.as_deref())?,
        times: request.times,
        client_id: request.client_id,
        username: request.username,
    };
    let id = p.arm(spec.clone())?;
    let info = FaultInfo::of(ArmedFault {
        id,
        spec,
        applied: 0,
    });
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/admin/tenants/{tenant}/faults", params(("tenant" = String, Path)),
    responses((status = 200, body = Vec<FaultInfo>))))]
async fn list_faults(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<FaultInfo>>, AdminError> {
    let p = provider(&hub, &tenant)?;
    Ok(Json(p.faults().into_iter().map(FaultInfo::of).collect()))
}

#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/admin/tenants/{tenant}/faults", params(("tenant" = String, Path)),
    responses((status = 204))))]
async fn clear_faults(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
) -> Result<StatusCode, AdminError> {
    provider(&hub, &tenant)?.clear_faults();
    Ok(StatusCode::NO_CONTENT)
}

#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/admin/tenants/{tenant}/faults/{id}",
    params(("tenant" = String, Path), ("id" = u64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody))))]
async fn clear_fault(
    State(hub): State<Hub>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    let p = provider(&hub, &tenant)?;
    let id: u64 = id
        .parse()
        .map_err(|_| AdminError::bad(format!("id: {id:?} is not a fault id")))?;
    p.clear_fault(id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/tenants/{tenant}/keys/rotate`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    /// Drop the older keys from the JWKS (tokens they signed stop verifying).
    #[serde(default)]
    pub retire_old: bool,
}

/// The keys after a rotation.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Keys {
    /// The kid that signs from now on.
    pub kid: String,
    /// Every published kid, the signing one first.
    pub kids: Vec<String>,
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/admin/tenants/{tenant}/keys/rotate", request_body = Rotate,
    params(("tenant" = String, Path)),
    responses((status = 200, body = Keys))))]
async fn rotate_keys(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Result<Json<Keys>, AdminError> {
    let p = provider(&hub, &tenant)?;
    let request: Rotate = body(&bytes)?;
    let kid = p.rotate_keys(request.retire_old).map_err(|e| {
        AdminError(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            e.to_string(),
        )
    })?;
    Ok(Json(Keys {
        kid,
        kids: p.key_ids(),
    }))
}

/// `?since=` cursor.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct Since {
    /// Only records with a larger `seq`.
    #[serde(default)]
    pub since: u64,
}

/// A page of the request log.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RequestPage {
    /// The records, oldest first, secrets masked.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub records: Vec<RequestRecord>,
    /// The `seq` of the newest record: pass it as `since` next time.
    pub last_seq: u64,
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/admin/tenants/{tenant}/requests",
    params(("tenant" = String, Path), Since),
    responses((status = 200, body = RequestPage))))]
async fn requests(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
    Query(since): Query<Since>,
) -> Result<Json<RequestPage>, AdminError> {
    let p = provider(&hub, &tenant)?;
    Ok(Json(RequestPage {
        records: p.requests_since(since.since),
        last_seq: p.state().requests.last_seq(),
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/admin/tenants/{tenant}/verdict", params(("tenant" = String, Path)),
    responses((status = 200, body = Object, description = "the verdict's items, each pass / fail / not_seen"))))]
async fn verdict(
    State(hub): State<Hub>,
    Path(tenant): Path<String>,
) -> Result<Json<Verdict>, AdminError> {
    Ok(Json(provider(&hub, &tenant)?.verdict()))
}

/// The OpenAPI document, generated from the handlers above.
#[cfg(feature = "openapi")]
#[derive(OpenApi)]
#[openapi(
    info(
        title = "mock-idp admin API",
        description = "Steer a running mock-idp: tenants, users, clients, the next login, the clock, faults, keys, the request log and the verdict."
    ),
    paths(
        create_tenant,
        list_tenants,
        delete_tenant,
        add_user,
        delete_user,
        logout_user,
        add_client,
        delete_client,
        forget_consent,
        next_login,
        mint_tokens,
        get_clock,
        change_clock,
        add_fault,
        list_faults,
        clear_faults,
        clear_fault,
        rotate_keys,
        requests,
        verdict
    ),
    components(schemas(
        ErrorBody,
        crate::tokens::MintRequest,
        CreateTenant,
        TenantInfo,
        Added,
        LoggedOut,
        NextLogin,
        ClockChange,
        ClockInfo,
        AddFault,
        FaultInfo,
        Rotate,
        Keys,
        RequestPage,
        UserConfig,
        ClientConfig,
        crate::model::ClientSecretKey
    ))
)]
pub struct ApiDoc;

#[cfg(feature = "openapi")]
async fn openapi() -> Json<Value> {
    Json(
        serde_json::to_value(ApiDoc::openapi())
            .unwrap_or_else(|e| serde_json::json!({"error": e.to_string()})),
    )
}

async fn require_token(State(auth): State<AdminAuth>, request: Request, next: Next) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !auth.allows(authorization) {
        return AdminError(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authorization: a valid `Bearer` admin token is required".into(),
        )
        .into_response();
    }
    next.run(request).await
}

async fn unknown() -> AdminError {
    AdminError::not_found("path: no such admin endpoint (see /admin/openapi.json)")
}

/// The admin routes, behind the token check.
pub fn routes(hub: Hub, auth: AdminAuth) -> Router {
    let t = "/admin/tenants/{tenant}";
    let router = Router::new();
    #[cfg(feature = "openapi")]
    let router = router.route("/admin/openapi.json", get(openapi));
    router
        .route("/admin/tenants", post(create_tenant).get(list_tenants))
        .route("/admin/tenants/{tenant}", delete(delete_tenant))
        .route(&format!("{t}/users"), post(add_user))
        .route(&format!("{t}/users/{{username}}"), delete(delete_user))
        .route(&format!("{t}/users/{{username}}/logout"), post(logout_user))
        .route(&format!("{t}/clients"), post(add_client))
        .route(&format!("{t}/clients/{{client_id}}"), delete(delete_client))
        .route(
            &format!("{t}/clients/{{client_id}}/consents/{{username}}"),
            delete(forget_consent),
        )
        .route(&format!("{t}/next-login"), post(next_login))
        .route(&format!("{t}/tokens"), post(mint_tokens))
        .route(&format!("{t}/clock"), get(get_clock).post(change_clock))
        .route(
            &format!("{t}/faults"),
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route(&format!("{t}/faults/{{id}}"), delete(clear_fault))
        .route(&format!("{t}/keys/rotate"), post(rotate_keys))
        .route(&format!("{t}/requests"), get(requests))
        .route(&format!("{t}/verdict"), get(verdict))
        .route("/admin", get(unknown))
        .route("/admin/{*rest}", get(unknown).post(unknown).delete(unknown))
        .layer(axum::middleware::from_fn_with_state(auth, require_token))
        .with_state(hub)
}

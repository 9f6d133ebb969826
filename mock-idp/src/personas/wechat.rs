//! The WeChat persona: the WeChat Open Platform website login (网站应用微信登录).
//!
//! - `GET /connect/qrconnect?appid&redirect_uri&response_type=code&scope=snsapi_login&state`: the login
//!   page (WeChat shows a QR code; here the ordinary login page), then a redirect with `code` and `state`.
//! - `GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code` (or the same as a
//!   `POST` form): `{access_token, expires_in (7200), refresh_token (30 days), openid, scope, unionid}`.
//! - `GET /sns/oauth2/refresh_token?appid&grant_type=refresh_token&refresh_token`.
//! - `GET /sns/userinfo?access_token&openid`: `{openid, nickname, sex, province, city, country,
//!   headimgurl, privilege, unionid}`.
//! - `GET /sns/auth?access_token&openid`: whether the token is valid for that openid.
//!
//! Every error is HTTP 200 with `{"errcode": N, "errmsg": "..."}` ([`WechatError`]): a client that only
//! looks at the status takes an error for a success, which is what this persona exists to catch.

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Map, Value, json};

use super::{
    ClientError, CodeError, PersonaAuthorize, RefreshError, Refreshed, authenticate, ct_eq,
    redeem_code, refresh_tokens, token_faults, token_owner, user_api_faults, wechat_openid,
};
use crate::{
    authorize::error_page, conn::PeerAddr, faults::spoil, requests::Note, state::AppState,
    tokens::published_url,
};

/// The one scope of the website login.
pub const SCOPE: &str = "snsapi_login";

/// The WeChat persona's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connect/qrconnect", get(qrconnect))
        .route(
            "/sns/oauth2/access_token",
            get(access_token).post(access_token_posted),
        )
        .route("/sns/oauth2/refresh_token", get(refresh_token))
        .route("/sns/userinfo", get(userinfo))
        .route("/sns/auth", get(auth))
}

/// WeChat's error codes (全局返回码) that these endpoints answer, always with HTTP 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WechatError {
    /// 40001: the access token is invalid (unknown, revoked or not issued here).
    InvalidCredential,
    /// 40002: `grant_type` is not the one this endpoint takes.
    InvalidGrantType,
    /// 40003: the openid is not the token's.
    InvalidOpenid,
    /// 40013: no app has this `appid`.
    InvalidAppid,
    /// 40029: the code is unknown, expired, or another app's.
    InvalidCode,
    /// 40030: the refresh token is unknown, spent or another app's.
    InvalidRefreshToken,
    /// 40125: the `secret` is wrong.
    InvalidAppsecret,
    /// 40163: the code was used before.
    CodeBeenUsed,
    /// 41001: no `access_token`.
    MissingAccessToken,
    /// 41002: no `appid`.
    MissingAppid,
    /// 41003: no `refresh_token`.
    MissingRefreshToken,
    /// 41004: no `secret`.
    MissingSecret,
    /// 41008: no `code`.
    MissingCode,
    /// 41009: no `openid`.
    MissingOpenid,
    /// 42002: the refresh token has expired.
    RefreshTokenExpired,
    /// 45011: too many failed authentications of this app from this address in the last minute (the
    /// throttle the OpenID token endpoint answers with 429).
    MinuteQuota,
    /// -1: system busy (a store is full).
    SystemBusy,
}

impl WechatError {
    /// The `errcode`.
    pub fn code(self) -> i64 {
        match self {
            WechatError::InvalidCredential => 40001,
            WechatError::InvalidGrantType => 40002,
            WechatError::InvalidOpenid => 40003,
            WechatError::InvalidAppid => 40013,
            WechatError::InvalidCode => 40029,
            WechatError::InvalidRefreshToken => 40030,
            WechatError::InvalidAppsecret => 40125,
            WechatError::CodeBeenUsed => 40163,
            WechatError::MissingAccessToken => 41001,
            WechatError::MissingAppid => 41002,
            WechatError::MissingRefreshToken => 41003,
            WechatError::MissingSecret => 41004,
            WechatError::MissingCode => 41008,
            WechatError::MissingOpenid => 41009,
            WechatError::RefreshTokenExpired => 42002,
            WechatError::MinuteQuota => 45011,
            WechatError::SystemBusy => -1,
        }
    }

    /// The `errmsg`, as WeChat words it.
    pub fn message(self) -> &'static str {
        match self {
            WechatError::InvalidCredential => {
                "invalid credential, access_token is invalid or not latest"
            }
            WechatError::InvalidGrantType => "invalid grant_type",
            WechatError::InvalidOpenid => "invalid openid",
            WechatError::InvalidAppid => "invalid appid",
            WechatError::InvalidCode => "invalid code",
            WechatError::InvalidRefreshToken => "invalid refresh_token",
            WechatError::InvalidAppsecret => "invalid appsecret",
            WechatError::CodeBeenUsed => "code been used",
            WechatError::MissingAccessToken => "access_token missing",
            WechatError::MissingAppid => "appid missing",
            WechatError::MissingRefreshToken => "refresh_token missing",
            WechatError::MissingSecret => "appsecret missing",
            WechatError::MissingCode => "code missing",
            WechatError::MissingOpenid => "openid missing",
            WechatError::RefreshTokenExpired => "refresh_token expired",
            WechatError::MinuteQuota => "api minute-quota reach limit mustslower retry next minute",
            WechatError::SystemBusy => "system error",
        }
    }
}

/// How WeChat answers a code that gives no tokens.
fn code_error(e: CodeError) -> WechatError {
    match e {
        CodeError::Used => WechatError::CodeBeenUsed,
        CodeError::Issue(_) => WechatError::SystemBusy,
        _ => WechatError::InvalidCode,
    }
}

/// HTTP 200 with `{"errcode", "errmsg"}`; the request log notes the errcode as the error.
impl IntoResponse for WechatError {
    fn into_response(self) -> Response {
        let mut response = json_200(json!({"errcode": self.code(), "errmsg": self.message()}));
        Note {
            error: Some(self.code().to_string()),
            ..Note::default()
        }
        .attach(&mut response);
        response
    }
}

/// WeChat answers JSON with this content type (and status 200, whatever happened).
fn json_200(body: Value) -> Response {
    let mut response = (StatusCode::OK, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; encoding=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

type Params = Query<HashMap<String, String>>;

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// `GET /connect/qrconnect`: checks appid, redirect URI, `response_type=code` and `scope=snsapi_login`;
/// anything wrong is an HTML page (WeChat's "参数错误"), never a redirect.
pub async fn qrconnect(
    State(state): State<AppState>,
    Query(params): Params,
    peer: PeerAddr,
    headers: HeaderMap,
) -> Response {
    if param(&params, "response_type") != Some("code") {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "response_type must be code.",
        );
    }
    let scope = param(&params, "scope").unwrap_or_default();
    if scope.split(',').any(|s| s != SCOPE) {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "the website login takes scope=snsapi_login only.",
        );
    }
    super::authorize(
        &state,
        PersonaAuthorize {
            client_id: param(&params, "appid"),
            redirect_uri: param(&params, "redirect_uri"),
            state: param(&params, "state"),
            scope: vec![SCOPE.to_owned()],
        },
        peer,
        &headers,
    )
}

fn count_token_request(state: &AppState) {
    state
        .token_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// `GET /sns/oauth2/access_token`: the code exchange, with `appid` and `secret` as query parameters.
pub async fn access_token(
    State(state): State<AppState>,
    peer: PeerAddr,
    Query(params): Params,
) -> Response {
    count_token_request(&state);
    let step = || -> Result<_, WechatError> {
        let appid = param(&params, "appid").ok_or(WechatError::MissingAppid)?;
        let secret = param(&params, "secret").ok_or(WechatError::MissingSecret)?;
        let code = param(&params, "code").ok_or(WechatError::MissingCode)?;
        if param(&params, "grant_type") != Some("authorization_code") {
            return Err(WechatError::InvalidGrantType);
        }
        let client = authenticate(&state, appid, secret, peer).map_err(|e| match e {
            ClientError::UnknownClient => WechatError::InvalidAppid,
            ClientError::WrongSecret => WechatError::InvalidAppsecret,
            ClientError::Throttled => WechatError::MinuteQuota,
        })?;
        // WeChat's token request names no redirect URI: the code is bound to the app (and was issued
        // only to a registered redirect URI).
        let redeemed = redeem_code(&state, &client, code, None).map_err(code_error)?;
        Ok((client, redeemed.user, redeemed.issued))
    };
    let (client, user, issued) = match step() {
        Ok(ok) => ok,
        Err(e) => return e.into_response(),
    };
    let client_id = client.config.client_id.as_str();
    let mut body = Map::new();
    body.insert("access_token".into(), issued.body["access_token"].clone());
    body.insert("expires_in".into(), issued.body["expires_in"].clone());
    body.insert("refresh_token".into(), issued.body["refresh_token"].clone());
    body.insert("openid".into(), json!(wechat_openid(&user, client_id)));
    body.insert("scope".into(), json!(SCOPE));
    if let Some(unionid) = &user.unionid {
        body.insert("unionid".into(), json!(unionid));
    }
    let faults = token_faults(&state, client_id, &user.username);
    let mut response = spoil::persona_token(&faults, Value::Object(body), json_200, || {
        WechatError::InvalidCode.into_response()
    })
    .await;
    Note {
        username: Some(user.username.clone()),
        client_id: Some(client_id.to_owned()),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// `POST /sns/oauth2/access_token` with the parameters as a form body (or in the query). WeChat documents
/// `GET`; its servers take this too, and a widely used library has sent it for years, so the persona is
/// as tolerant as the provider. The parameters are the `GET`'s, checked the same way.
pub async fn access_token_posted(
    state: State<AppState>,
    peer: PeerAddr,
    Query(mut params): Params,
    body: axum::body::Bytes,
) -> Response {
    params.extend(url::form_urlencoded::parse(&body).into_owned());
    access_token(state, peer, Query(params)).await
}

/// `GET /sns/oauth2/refresh_token`: rotates a refresh token (no secret: WeChat takes none here).
pub async fn refresh_token(State(state): State<AppState>, Query(params): Params) -> Response {
    let step = || -> Result<Value, WechatError> {
        let appid = param(&params, "appid").ok_or(WechatError::MissingAppid)?;
        let token = param(&params, "refresh_token").ok_or(WechatError::MissingRefreshToken)?;
        if param(&params, "grant_type") != Some("refresh_token") {
            return Err(WechatError::InvalidGrantType);
        }
        let client = state.client(appid).ok_or(WechatError::InvalidAppid)?;
        let Refreshed { user, issued, .. } =
            refresh_tokens(&state, &client, token).map_err(|e| match e {
                RefreshError::Invalid => WechatError::InvalidRefreshToken,
                RefreshError::Expired => WechatError::RefreshTokenExpired,
                RefreshError::Unavailable => WechatError::SystemBusy,
            })?;
        Ok(json!({
            "access_token": issued.body["access_token"],
            "expires_in": issued.body["expires_in"],
            "refresh_token": issued.body["refresh_token"],
            "openid": wechat_openid(&user, appid),
            "scope": SCOPE,
        }))
    };
    match step() {
        Ok(body) => json_200(body),
        Err(e) => e.into_response(),
    }
}

/// The owner of `access_token` if `openid` is theirs at the token's app.
fn owner_of(
    state: &AppState,
    params: &HashMap<String, String>,
) -> Result<super::TokenOwner, WechatError> {
    let token = param(params, "access_token").ok_or(WechatError::MissingAccessToken)?;
    let openid = param(params, "openid").ok_or(WechatError::MissingOpenid)?;
    let owner = token_owner(state, token).ok_or(WechatError::InvalidCredential)?;
    if !ct_eq(&wechat_openid(&owner.user, &owner.client_id), openid) {
        return Err(WechatError::InvalidOpenid);
    }
    Ok(owner)
}

/// `GET /sns/userinfo?access_token&openid`: the profile; `userinfo.*` faults apply (`wrong_sub` changes
/// the `openid`).
pub async fn userinfo(State(state): State<AppState>, Query(params): Params) -> Response {
    let owner = match owner_of(&state, &params) {
        Ok(owner) => owner,
        Err(e) => return e.into_response(),
    };
    let user = &owner.user;
    let mut body = Map::new();
    body.insert(
        "openid".into(),
        json!(wechat_openid(user, &owner.client_id)),
    );
    body.insert(
        "nickname".into(),
        json!(user.name.clone().unwrap_or_else(|| user.username.clone())),
    );
    // WeChat no longer reports these (0 and empty strings since 2021).
    body.insert("sex".into(), json!(0));
    body.insert("province".into(), json!(""));
    body.insert("city".into(), json!(""));
    body.insert("country".into(), json!(""));
    body.insert(
        "headimgurl".into(),
        json!(
            user.picture
                .as_deref()
                .map(|p| published_url(&state.issuer, p))
                .unwrap_or_default()
        ),
    );
    body.insert("privilege".into(), json!([]));
    if let Some(unionid) = &user.unionid {
        body.insert("unionid".into(), json!(unionid));
    }
    let faults = user_api_faults(&state, &owner.client_id, &user.username);
    let mut response = spoil::user_api(&faults, body, "openid").await;
    Note {
        username: Some(user.username.clone()),
        client_id: Some(owner.client_id.clone()),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// `GET /sns/auth?access_token&openid`: `{"errcode": 0, "errmsg": "ok"}` for a live token of that openid.
pub async fn auth(State(state): State<AppState>, Query(params): Params) -> Response {
    match owner_of(&state, &params) {
        Ok(_) => json_200(json!({"errcode": 0, "errmsg": "ok"})),
        Err(e) => e.into_response(),
    }
}

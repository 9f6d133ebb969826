//! The middleware that writes the request log: one [`RequestRecord`] per request, secrets masked.

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::header,
    middleware::Next,
    response::Response,
};

use crate::{conn::Conn, requests::*, state::AppState};

/// The middleware that writes one record per request. It reads small form bodies to log their
/// parameters and hands the same bytes on, so handlers see the request unchanged.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.requests.capacity() == 0 {
        return next.run(request).await;
    }
    let time_ms = state.clock.now_ms();
    let conn = request
        .extensions()
        .get::<ConnectInfo<Conn>>()
        .map(|c| c.0.clone());
    let (parts, body) = request.into_parts();
    let mut params: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| {
                    let shown = mask(&k, &v);
                    (k.into_owned(), shown)
                })
                .collect()
        })
        .unwrap_or_default();
    let small = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n <= MAX_LOGGED_BODY);
    let body = if is_form(&parts.headers) && small {
        match axum::body::to_bytes(body, MAX_LOGGED_BODY as usize).await {
            Ok(bytes) => {
                params.extend(url::form_urlencoded::parse(&bytes).map(|(k, v)| {
                    let shown = mask(&k, &v);
                    (k.into_owned(), shown)
                }));
                Body::from(bytes)
            }
            // The client stopped sending: nothing to hand on; the handler answers the empty body.
            Err(_) => Body::empty(),
        }
    } else {
        body
    };
    let headers = masked_headers(&parts.headers);
    let basic = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, creds)| basic_user(creds));
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    // `appid` is the WeChat persona's client id.
    let client_id = basic
        .clone()
        .or_else(|| param("client_id"))
        .or_else(|| param("appid"));
    let path = parts.uri.path().to_owned();
    let authenticates = parts.method == axum::http::Method::POST
        && matches!(
            path.rsplit('/').next(),
            Some("token" | "revoke" | "introspect")
        );
    let client_auth = authenticates.then(|| {
        if basic.is_some() {
            "client_secret_basic"
        } else if param("client_secret").is_some() {
            "client_secret_post"
        } else {
            "none"
        }
    });
    let method = parts.method.as_str().to_owned();
    // Written even if the client goes away and the handler is dropped mid-answer (a delayed response).
    let mut pending = Unanswered {
        log: &state.requests,
        record: Some(RequestRecord {
            seq: 0,
            time_ms,
            method,
            path,
            params,
            headers,
            remote: conn.as_ref().map(|c| c.remote),
            client_id,
            client_auth,
            status: 0,
            note: Note {
                error: Some("the client closed the connection before the answer".into()),
                ..Note::default()
            },
        }),
    };
    let mut response = next.run(Request::from_parts(parts, body)).await;
    let note = response
        .extensions_mut()
        .remove::<Note>()
        .unwrap_or_default();
    let mut status = response.status().as_u16();
    if note.abort {
        if let Some(conn) = &conn {
            conn.abort();
        }
        status = 0;
    }
    if let Some(mut record) = pending.record.take() {
        record.client_id = note.client_id.clone().or(record.client_id);
        record.status = status;
        record.note = note;
        state.requests.push(record);
    }
    response
}

/// A record not yet answered; dropping it (the handler was dropped) logs it as unanswered.
struct Unanswered<'a> {
    /// Where it goes.
    log: &'a RequestLog,
    /// `None` once answered and logged.
    record: Option<RequestRecord>,
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            self.log.push(record);
        }
    }
}

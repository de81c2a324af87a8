//! The national sign-in's two pages (`[identity]`, see [`crate::identity`]): `GET /signin`
//! starts it (a sealed cookie keeps `state`, `nonce` and the PKCE verifier; the browser goes to
//! the provider), `GET /signin/callback` finishes it (the code exchanged, the ID token checked,
//! the verified ID number kept in a second sealed cookie) and goes back to the booking form.
//! A failure of any kind is one generic page (the reason is logged), never a 500. Each spends a
//! token of the client's rate-limit bucket (the one booking and lookups spend) before it costs
//! the provider anything; a client without one gets 429 and the provider is not asked.
//! `POST /signout` forgets the verified ID (the booking form's "sign out", for a shared
//! computer); the provider is asked to make the citizen sign in every time (`prompt=login`).
use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use dawr_i18n::Lang;
use dawr_web::headers::private;
use dawr_web::html::parse_lang;
use dawr_web::tls::OverTls;
use serde::Deserialize;

use crate::identity::{self, ID_COOKIE, SIGNIN_COOKIE, SignIn, SignInError, SignedIn};
use crate::pages::{limited, not_found, signin_failed, signin_rate_limited};
use crate::service::Core;

/// The site's `/signin` address that comes back to `return_to` (a local path) in `lang`.
pub fn signin_href(return_to: &str, lang: Lang) -> String {
    let mut url = reqwest::Url::parse("http://site/signin").expect("a fixed URL parses");
    url.query_pairs_mut().append_pair("return_to", return_to).append_pair("lang", lang.code());
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

/// `GET /signin?return_to&lang`.
#[derive(Deserialize, Default)]
pub struct StartQuery {
    return_to: Option<String>,
    lang: Option<String>,
}

/// Whether the cookies get `Secure`: the site is reached over HTTPS (served over TLS, an
/// `https://` public URL, or a proxy's `X-Forwarded-Proto: https`), as `dawr_web::guard` says.
fn secure(core: &Core, headers: &HeaderMap, over_tls: OverTls) -> bool {
    dawr_web::guard::Guard::new(&core.public_url, &[]).secure_cookies(headers, over_tls)
}

fn now() -> i64 {
    dawr_web::clock::now().timestamp()
}

/// `GET /signin`: to the provider's authorization endpoint, the sign-in's secrets in a cookie.
pub async fn start(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Query(q): Query<StartQuery>,
    headers: HeaderMap,
    over_tls: OverTls,
) -> Response {
    let lang = parse_lang(q.lang.as_deref()).unwrap_or_default();
    let Some(provider) = core.identity.clone() else { return not_found(&core, lang) };
    let return_to = q.return_to.filter(|p| identity::local_path(p)).unwrap_or_else(|| "/".into());
    if limited(&core, addr, &headers) {
        return signin_rate_limited(&core, lang, &return_to);
    }
    let signin = SignIn {
        state: identity::random_token(),
        nonce: identity::random_token(),
        verifier: identity::random_token(),
        return_to,
        lang: lang.code().to_string(),
        exp: now() + identity::SIGNIN_SECONDS,
    };
    match provider.authorize_url(&signin).await {
        Ok(url) => {
            let cookie = identity::set_cookie(
                SIGNIN_COOKIE,
                &provider.sealer.seal(&signin),
                identity::SIGNIN_SECONDS,
                secure(&core, &headers, over_tls),
            );
            private((AppendHeaders([(header::SET_COOKIE, cookie)]), Redirect::to(&url)).into_response())
        }
        Err(e) => {
            tracing::warn!(error = %e, "a sign-in could not start");
            signin_failed(&core, lang, StatusCode::SERVICE_UNAVAILABLE, &signin.return_to)
        }
    }
}

/// `GET /signin/callback?code&state` (or `?error` when the provider refused).
#[derive(Deserialize, Default)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /signin/callback`: checks everything, keeps the verified ID, back to the form.
pub async fn callback(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
    over_tls: OverTls,
) -> Response {
    let secure = secure(&core, &headers, over_tls);
    let Some(provider) = core.identity.clone() else { return not_found(&core, Lang::default()) };
    let signin = identity::cookie(&headers, SIGNIN_COOKIE).and_then(|c| provider.sealer.open::<SignIn>(c, now()));
    let lang = signin.as_ref().and_then(|s| parse_lang(Some(&s.lang))).unwrap_or_default();
    let return_to = signin.as_ref().map_or("/", |s| s.return_to.as_str());
    if limited(&core, addr, &headers) {
        return signin_rate_limited(&core, lang, return_to);
    }
    let finished = match (&signin, &q) {
        (_, CallbackQuery { error: Some(e), .. }) => Err(SignInError::Refused(e.clone())),
        (Some(signin), CallbackQuery { code: Some(code), state: Some(state), .. }) => {
            provider.finish(signin, code, state, now()).await
        }
        _ => Err(SignInError::State),
    };
    let cleared = identity::set_cookie(SIGNIN_COOKIE, "", 0, secure);
    match finished {
        Ok(national_id) => {
            tracing::info!("a citizen signed in with the identity provider");
            let id = SignedIn { national_id, exp: now() + identity::ID_SECONDS };
            let kept = identity::set_cookie(ID_COOKIE, &provider.sealer.seal(&id), identity::ID_SECONDS, secure);
            let cookies = AppendHeaders([(header::SET_COOKIE, cleared), (header::SET_COOKIE, kept)]);
            private((cookies, Redirect::to(return_to)).into_response())
        }
        Err(e) => {
            tracing::warn!(error = %e, "a sign-in failed");
            let status = if e.is_provider() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::BAD_REQUEST };
            let mut page = signin_failed(&core, lang, status, return_to);
            if let Ok(value) = cleared.parse() {
                page.headers_mut().append(header::SET_COOKIE, value);
            }
            page
        }
    }
}

/// `POST /signout`: the form's `return_to` and `lang`.
#[derive(Deserialize, Default)]
pub struct SignOutForm {
    return_to: Option<String>,
    lang: Option<String>,
}

/// `POST /signout`: clears the verified ID's cookie and goes back to the page it came from,
/// which asks to sign in again. Nothing is asked of the provider. A body that does not read as
/// the form still signs out, back to the home page, as the site's other forms read a bad body
/// as an empty one.
pub async fn sign_out(
    State(core): State<Core>,
    headers: HeaderMap,
    over_tls: OverTls,
    form: Result<Form<SignOutForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let lang = parse_lang(form.lang.as_deref()).unwrap_or_default();
    if core.identity.is_none() {
        return not_found(&core, lang);
    }
    let return_to = form.return_to.filter(|p| identity::local_path(p)).unwrap_or_else(|| "/".into());
    let cleared = identity::set_cookie(ID_COOKIE, "", 0, secure(&core, &headers, over_tls));
    tracing::info!("a citizen signed out");
    private((AppendHeaders([(header::SET_COOKIE, cleared)]), Redirect::to(&return_to)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signin_address_carries_where_to_come_back_encoded() {
        assert_eq!(
            signin_href("/b/demo/A?lang=en&date=2026-01-04", Lang::En),
            "/signin?return_to=%2Fb%2Fdemo%2FA%3Flang%3Den%26date%3D2026-01-04&lang=en"
        );
    }
}

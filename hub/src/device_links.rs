//! How an exit-rating tablet's browser becomes its enrolled device: an enrolment link
//! (`/rate/enrol/{token}`, printed by `dawr-hub devices add --role rating`) that, opened once on
//! the tablet and confirmed there (its `GET` only asks: [`check`]; the form's `POST` takes it:
//! [`redeem`]), sets a device cookie; the exit page `/rate/{counter}` then knows which device it is.
//!
//! Printed links work once and for [`LINK_VALID_FOR`]; the demo's own links (in
//! `demo-devices.toml`) may be opened again and do not expire, so the demo works out of the box.
//! A link or cookie is good while its device stays enrolled as it was when the link was made:
//! revoking the device (or enrolling it again) ends it. Only SHA-256 hashes of tokens and cookies are
//! stored (schema 009). The SQL runs on any connection, like [`crate::devices`]'s.
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::devices::DeviceError;
use crate::store::{StoreError, ts};

/// How long a printed enrolment link can be opened.
pub const LINK_VALID_FOR: Duration = Duration::hours(24);

/// The path of an enrolment link.
pub fn link_path(token: &str) -> String {
    format!("/rate/enrol/{token}")
}

/// 128 random bits as 32 hex digits (a link's token, a cookie).
fn new_secret() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` looks like a token or a cookie made here (32 lowercase hex digits).
pub fn is_secret(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A new enrolment link's token for the enrolled `device`: one use within [`LINK_VALID_FOR`], or
/// (the demo's) reusable without end.
pub fn new_link(conn: &Connection, device: &str, reusable: bool, now: DateTime<Utc>) -> Result<String, DeviceError> {
    let enrolled_at: Option<String> = conn
        .query_row("SELECT enrolled_at FROM devices WHERE id = ?1 AND revoked_at IS NULL", [device], |r| r.get(0))
        .optional()?;
    let enrolled_at = enrolled_at.ok_or_else(|| DeviceError::NotEnrolled(device.to_string()))?;
    let token = new_secret();
    let expires = (!reusable).then(|| ts(now + LINK_VALID_FOR));
    conn.execute(
        "INSERT INTO device_links (token_hash, device, enrolled_at, created_at, expires_at, reusable)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![hash(&token), device, enrolled_at, ts(now), expires, reusable],
    )?;
    Ok(token)
}

/// Why a link was not taken.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    #[error("no such enrolment link")]
    Unknown,
    #[error("this enrolment link was used already")]
    Used,
    #[error("this enrolment link has expired")]
    Expired,
    #[error("the link's device is no longer enrolled")]
    Revoked,
}

/// A link as stored.
struct Link {
    device: String,
    /// The enrolment of the device it belongs to.
    enrolled_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    reusable: bool,
    used: bool,
}

/// Whether `link` may be taken now, its device being enrolled now as `enrolled_at` (pure).
fn check_link(link: &Link, enrolled_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), LinkRefusal> {
    if enrolled_at != Some(link.enrolled_at) {
        return Err(LinkRefusal::Revoked);
    }
    if link.expires_at.is_some_and(|end| now >= end) {
        return Err(LinkRefusal::Expired);
    }
    if link.used && !link.reusable {
        return Err(LinkRefusal::Used);
    }
    Ok(())
}

/// A `device_links` row as read: device, enrolled_at, expires_at, reusable, used_at.
type LinkRow = (String, String, Option<String>, bool, Option<String>);

/// The device an enrolment link would enrol and its counter, if the link may be taken now, or
/// why not — without taking it (what the link's `GET` shows: a link previewer's fetch must not
/// use it up).
pub fn check(
    conn: &Connection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<(String, Option<String>), LinkRefusal>, DeviceError> {
    let link = match usable(conn, token, now)? {
        Ok(link) => link,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let counter: Option<String> =
        conn.query_row("SELECT counter FROM devices WHERE id = ?1", [&link.device], |r| r.get(0))?;
    Ok(Ok((link.device, counter)))
}

/// The link `token` names, if it may be taken now, or why not.
fn usable(conn: &Connection, token: &str, now: DateTime<Utc>) -> Result<Result<Link, LinkRefusal>, DeviceError> {
    if !is_secret(token) {
        return Ok(Err(LinkRefusal::Unknown));
    }
    let row: Option<LinkRow> = conn
        .query_row(
            "SELECT device, enrolled_at, expires_at, reusable, used_at FROM device_links WHERE token_hash = ?1",
            [hash(token)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((device, enrolled_at, expires_at, reusable, used_at)) = row else {
        return Ok(Err(LinkRefusal::Unknown));
    };
    let link = Link {
        enrolled_at: parse(&enrolled_at)?,
        expires_at: expires_at.as_deref().map(parse).transpose()?,
        reusable,
        used: used_at.is_some(),
        device,
    };
    Ok(check_link(&link, enrolment(conn, &link.device)?, now).map(|()| link))
}

/// Takes an enrolment link: returns its device and a new device cookie (stored by its hash), or
/// why not. A one-use link is used up in the same transaction.
pub fn redeem(
    conn: &Connection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<(String, String), LinkRefusal>, DeviceError> {
    let tx = conn.unchecked_transaction()?;
    let link = match usable(&tx, token, now)? {
        Ok(link) => link,
        Err(refusal) => return Ok(Err(refusal)),
    };
    tx.execute("UPDATE device_links SET used_at = ?2 WHERE token_hash = ?1", params![hash(token), ts(now)])?;
    let cookie = new_secret();
    tx.execute(
        "INSERT INTO device_cookies (cookie_hash, device, enrolled_at, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![hash(&cookie), link.device, ts(link.enrolled_at), ts(now)],
    )?;
    tx.commit()?;
    Ok(Ok((link.device, cookie)))
}

/// When `device` was enrolled, if it is enrolled now (read from the table itself, so a device
/// enrolled or revoked a moment ago counts at once).
fn enrolment(conn: &Connection, device: &str) -> Result<Option<DateTime<Utc>>, DeviceError> {
    let at: Option<String> = conn
        .query_row("SELECT enrolled_at FROM devices WHERE id = ?1 AND revoked_at IS NULL", [device], |r| r.get(0))
        .optional()?;
    Ok(at.as_deref().map(parse).transpose()?)
}

fn parse(text: &str) -> Result<DateTime<Utc>, StoreError> {
    dawr_web::db::parse_ts("device_links", text)
}

/// The device a cookie belongs to and its counter, if the device is still enrolled as it was
/// when the cookie's link was made (read from the device table itself: a revocation counts at
/// once).
pub fn cookie_device(conn: &Connection, cookie: &str) -> Result<Option<(String, Option<String>)>, DeviceError> {
    if !is_secret(cookie) {
        return Ok(None);
    }
    let row = conn
        .query_row(
            "SELECT c.device, d.counter FROM device_cookies c
             JOIN devices d ON d.id = c.device AND d.revoked_at IS NULL AND d.enrolled_at = c.enrolled_at
             WHERE c.cookie_hash = ?1",
            [hash(cookie)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dawr_protocol::acl::{Device, Role};

    fn enrolled() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("d.db")).unwrap();
        let device = Device::new("rating-2", Role::Rating, Some("2")).unwrap();
        crate::devices::add(&conn, device, None, Utc::now() - Duration::seconds(5), "test").unwrap();
        (dir, conn)
    }

    #[test]
    fn a_printed_link_works_once_and_its_cookie_names_the_device() {
        let (_dir, conn) = enrolled();
        let now = Utc::now();
        let token = new_link(&conn, "rating-2", false, now).unwrap();
        assert_eq!(check(&conn, &token, now).unwrap(), Ok(("rating-2".into(), Some("2".into()))));
        assert_eq!(
            check(&conn, &token, now).unwrap(),
            Ok(("rating-2".into(), Some("2".into()))),
            "checking does not use it"
        );
        let (device, cookie) = redeem(&conn, &token, now).unwrap().unwrap();
        assert_eq!(device, "rating-2");
        assert_eq!(cookie_device(&conn, &cookie).unwrap(), Some(("rating-2".into(), Some("2".into()))));
        assert_eq!(redeem(&conn, &token, now).unwrap(), Err(LinkRefusal::Used));
        assert_eq!(check(&conn, &token, now).unwrap(), Err(LinkRefusal::Used));
        assert_eq!(redeem(&conn, &"0".repeat(32), now).unwrap(), Err(LinkRefusal::Unknown));
        assert_eq!(redeem(&conn, "../etc", now).unwrap(), Err(LinkRefusal::Unknown));
        assert_eq!(cookie_device(&conn, &"f".repeat(32)).unwrap(), None);
    }

    #[test]
    fn an_expired_link_and_a_revoked_devices_cookie_are_refused() {
        let (_dir, conn) = enrolled();
        let now = Utc::now();
        let late = new_link(&conn, "rating-2", false, now).unwrap();
        let after = now + LINK_VALID_FOR + Duration::seconds(1);
        assert_eq!(redeem(&conn, &late, after).unwrap(), Err(LinkRefusal::Expired));
        let demo = new_link(&conn, "rating-2", true, now).unwrap();
        let (_, first) = redeem(&conn, &demo, after).unwrap().unwrap();
        let (_, second) = redeem(&conn, &demo, after).unwrap().unwrap();
        assert_ne!(first, second, "the demo's link may be opened again, each time a new cookie");
        crate::devices::revoke(&conn, "rating-2", now, "test").unwrap();
        assert_eq!(cookie_device(&conn, &first).unwrap(), None, "revoked");
        assert_eq!(redeem(&conn, &demo, after).unwrap(), Err(LinkRefusal::Revoked));
        // Enrolled again: the old cookies stay refused.
        let device = Device::new("rating-2", Role::Rating, Some("2")).unwrap();
        crate::devices::add(&conn, device, None, now + Duration::seconds(1), "test").unwrap();
        assert_eq!(cookie_device(&conn, &second).unwrap(), None, "enrolled again");
    }
}

//! The slice of the REST API the bench uses.

use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::{json, Value};
use time::Date;

/// A REST client bound to one server.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicSettings {
    #[serde(with = "iso_date")]
    pub today: Date,
    #[serde(default)]
    pub default_designer_id: Option<i64>,
    pub limited_threshold_percent: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Day {
    #[serde(with = "iso_date")]
    pub date: Date,
    pub capacity: i64,
    pub used: i64,
    /// Live holds (`0` from a server without holds).
    #[serde(default)]
    pub held: i64,
}

impl Day {
    /// Slots still free: `max(capacity - used - held, 0)`.
    pub fn remaining(&self) -> i64 {
        (self.capacity - self.used - self.held).max(0)
    }
}

/// Outcome of one booking attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Booked {
    Created,
    Full,
    Other(u16),
}

/// Outcome of `POST /api/holds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldTaken {
    /// 201, with the hold's id.
    Taken(i64),
    /// 409 `capacity_full`: the day has no free slot.
    Full,
    Other(u16),
}

/// Outcome of `POST /api/requests`, told apart by the error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// 201, with the request's id.
    Created(i64),
    /// 409 `capacity_full`.
    Full,
    /// 409 `hold_expired`.
    HoldExpired,
    Other(u16),
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
}

/// The contract's error code of a response body (`{"error": "<code>", …}`).
fn error_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|e| e.error)
}

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

pub fn date_str(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i32 = s[0..4].parse().ok()?;
    let month: u8 = s[5..7].parse().ok()?;
    let day: u8 = s[8..10].parse().ok()?;
    Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

pub fn client(pool_idle: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(pool_idle)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

impl Api {
    pub fn new(base: &str, http: reqwest::Client) -> Api {
        Api {
            base: base.trim_end_matches('/').to_owned(),
            http,
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let r = self
            .http
            .post(format!("{}/api/auth/login", self.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("login {email}: {}", r.status());
        }
        let body: Value = r.json().await?;
        body["token"]
            .as_str()
            .map(str::to_owned)
            .context("login answered without a token")
    }

    /// Registers a requester (an existing one is fine) and signs in.
    pub async fn register_and_login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let r = self
            .http
            .post(format!("{}/api/auth/register", self.base))
            .json(&json!({"email": email, "password": password, "displayName": "Bench user"}))
            .send()
            .await?;
        if !(r.status().is_success() || r.status().as_u16() == 409) {
            bail!("register {email}: {}", r.status());
        }
        self.login(email, password).await
    }

    pub async fn public_settings(&self) -> anyhow::Result<PublicSettings> {
        let r = self
            .http
            .get(format!("{}/api/settings/public", self.base))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("GET /api/settings/public: {}", r.status());
        }
        Ok(r.json().await?)
    }

    /// Opens every weekday, a window of `window_days` and `daily_capacity`.
    pub async fn configure(
        &self,
        admin: &str,
        current: &PublicSettings,
        daily_capacity: i64,
        window_days: i64,
    ) -> anyhow::Result<()> {
        let mut body = json!({
            "dailyCapacity": daily_capacity,
            "limitedThresholdPercent": current.limited_threshold_percent,
            "bookingWindowDays": window_days,
            "closedWeekdays": [],
            "timezone": "UTC",
        });
        if let Some(id) = current.default_designer_id {
            body["defaultDesignerId"] = json!(id);
        }
        let r = self
            .http
            .put(format!("{}/api/settings", self.base))
            .bearer_auth(admin)
            .json(&body)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!(
                "PUT /api/settings: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }

    pub async fn set_override(&self, admin: &str, date: Date, capacity: i64) -> anyhow::Result<()> {
        let r = self
            .http
            .put(format!(
                "{}/api/capacity/overrides/{}",
                self.base,
                date_str(date)
            ))
            .bearer_auth(admin)
            .json(&json!({"capacity": capacity, "note": "benchmark"}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("PUT /api/capacity/overrides/{date}: {}", r.status());
        }
        Ok(())
    }

    pub async fn book(&self, token: &str, date: Date, title: &str) -> anyhow::Result<Booked> {
        let r = self
            .http
            .post(format!("{}/api/requests", self.base))
            .bearer_auth(token)
            .json(&json!({"title": title, "dueDate": date_str(date)}))
            .send()
            .await?;
        let status = r.status().as_u16();
        // Read the body so the connection goes back to the pool.
        let _ = r.bytes().await;
        Ok(match status {
            201 => Booked::Created,
            409 => Booked::Full,
            other => Booked::Other(other),
        })
    }

    /// `POST /api/requests`, with the caller's hold on `date` if any.
    pub async fn submit(
        &self,
        token: &str,
        date: Date,
        title: &str,
        hold_id: Option<i64>,
    ) -> anyhow::Result<Submitted> {
        let mut body = json!({"title": title, "dueDate": date_str(date)});
        if let Some(id) = hold_id {
            body["holdId"] = json!(id);
        }
        let r = self
            .http
            .post(format!("{}/api/requests", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = r.status().as_u16();
        let body = r.bytes().await.unwrap_or_default();
        if status == 201 {
            let v: Value = serde_json::from_slice(&body)?;
            return v["id"]
                .as_i64()
                .map(Submitted::Created)
                .context("POST /api/requests answered 201 without an id");
        }
        Ok(match (status, error_code(&body).as_deref()) {
            (409, Some("capacity_full")) => Submitted::Full,
            (409, Some("hold_expired")) => Submitted::HoldExpired,
            (other, _) => Submitted::Other(other),
        })
    }

    /// `POST /api/requests/{id}/cancel`; the status code.
    pub async fn cancel(&self, token: &str, id: i64) -> anyhow::Result<u16> {
        let r = self
            .http
            .post(format!("{}/api/requests/{id}/cancel", self.base))
            .bearer_auth(token)
            .send()
            .await?;
        let status = r.status().as_u16();
        let _ = r.bytes().await;
        Ok(status)
    }

    /// `POST /api/holds` for `date`.
    pub async fn take_hold(&self, token: &str, date: Date) -> anyhow::Result<HoldTaken> {
        let r = self
            .http
            .post(format!("{}/api/holds", self.base))
            .bearer_auth(token)
            .json(&json!({"date": date_str(date)}))
            .send()
            .await?;
        let status = r.status().as_u16();
        let body = r.bytes().await.unwrap_or_default();
        if status == 201 {
            let v: Value = serde_json::from_slice(&body)?;
            return v["id"]
                .as_i64()
                .map(HoldTaken::Taken)
                .context("POST /api/holds answered 201 without an id");
        }
        Ok(match (status, error_code(&body).as_deref()) {
            (409, Some("capacity_full")) => HoldTaken::Full,
            (other, _) => HoldTaken::Other(other),
        })
    }

    /// `DELETE /api/holds/{id}`; true on 204.
    pub async fn release_hold(&self, token: &str, id: i64) -> anyhow::Result<bool> {
        let r = self
            .http
            .delete(format!("{}/api/holds/{id}", self.base))
            .bearer_auth(token)
            .send()
            .await?;
        let ok = r.status().as_u16() == 204;
        let _ = r.bytes().await;
        Ok(ok)
    }

    /// `GET /api/availability?from=&to=`, the days parsed.
    pub async fn availability(
        &self,
        token: &str,
        from: Date,
        to: Date,
    ) -> anyhow::Result<Vec<Day>> {
        let body = self.availability_raw(token, from, to).await?;
        let v: AvailabilityBody = serde_json::from_slice(&body)?;
        Ok(v.days)
    }

    /// `GET /api/availability?from=&to=`, the body unparsed.
    pub async fn availability_raw(
        &self,
        token: &str,
        from: Date,
        to: Date,
    ) -> anyhow::Result<bytes::Bytes> {
        let r = self
            .http
            .get(format!(
                "{}/api/availability?from={}&to={}",
                self.base,
                date_str(from),
                date_str(to)
            ))
            .bearer_auth(token)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("GET /api/availability: {}", r.status());
        }
        Ok(r.bytes().await?)
    }

    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .text()
            .await?)
    }
}

#[derive(Debug, Deserialize)]
struct AvailabilityBody {
    days: Vec<Day>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let d = parse_date("2026-02-03").unwrap();
        assert_eq!(date_str(d), "2026-02-03");
        assert!(parse_date("2026-2-03").is_none());
        assert!(parse_date("2026-02-30").is_none());
    }

    #[test]
    fn reads_the_error_code() {
        let body = br#"{"error":"hold_expired","message":"gone"}"#;
        assert_eq!(error_code(body).as_deref(), Some("hold_expired"));
        assert_eq!(error_code(b"not json"), None);
    }

    #[test]
    fn remaining_counts_holds_and_never_goes_negative() {
        let day = |capacity, used, held| Day {
            date: parse_date("2026-02-03").unwrap(),
            capacity,
            used,
            held,
        };
        assert_eq!(day(10, 4, 3).remaining(), 3);
        assert_eq!(day(2, 3, 0).remaining(), 0);
    }
}

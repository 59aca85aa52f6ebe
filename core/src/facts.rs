//! The facts of `context.*` that the server owns: the clock, read in the tenant's time zone, and
//! the caller's address.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::CoreError;

/// The address a request came from, worked out once by the server for every request: the
/// connection's peer, or what the configured trusted proxy header says. `context.ip`, the sign-in
/// throttle and logs all read this one value. `None` when the server cannot tell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientAddress(pub Option<String>);

/// The server's clock for one call, as a tenant's rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clock {
    /// `context.time`: milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// `context.hour`: 0 to 23, in the tenant's time zone.
    pub hour: i8,
    /// `context.weekday`: `monday` to `sunday`, in the tenant's time zone.
    pub weekday: &'static str,
    /// `context.date`: `YYYY-MM-DD`, in the tenant's time zone.
    pub date: String,
}

/// Checks a time zone name (`UTC`, `Europe/Zurich`, `America/New_York`).
pub(crate) fn time_zone(name: &str) -> Result<TimeZone, CoreError> {
    // Most tenants keep the default; it needs no lookup in the time zone database.
    if name.trim() == "UTC" {
        return Ok(TimeZone::UTC);
    }
    TimeZone::get(name.trim())
        .map_err(|_| CoreError::invalid("time_zone", format!("`{}` is not a time zone; use a name such as `UTC` or `Europe/Zurich`", name.trim())))
}

/// The clock facts of the instant `time_ms` in the zone named `zone`.
pub fn derive_clock(time_ms: i64, zone: &str) -> Result<Clock, CoreError> {
    let zone = time_zone(zone)?;
    let instant = Timestamp::from_millisecond(time_ms).map_err(|err| CoreError::internal("the clock is out of range", err))?;
    let local = zone.to_datetime(instant);
    let weekday = match local.weekday() {
        jiff::civil::Weekday::Monday => "monday",
        jiff::civil::Weekday::Tuesday => "tuesday",
        jiff::civil::Weekday::Wednesday => "wednesday",
        jiff::civil::Weekday::Thursday => "thursday",
        jiff::civil::Weekday::Friday => "friday",
        jiff::civil::Weekday::Saturday => "saturday",
        jiff::civil::Weekday::Sunday => "sunday",
    };
    Ok(Clock { time_ms, hour: local.hour(), weekday, date: local.date().to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(time_ms: i64, zone: &str, expected: (i8, &str, &str)) {
        let clock = derive_clock(time_ms, zone).unwrap();
        assert_eq!((clock.hour, clock.weekday, clock.date.as_str()), expected, "{time_ms} in {zone}");
    }

    #[test]
    fn the_clock_reads_in_the_tenant_time_zone() {
        // 2026-12-02T15:46:11Z, a Wednesday.
        let t = 1_796_226_371_000;
        check(t, "UTC", (15, "wednesday", "2026-12-02"));
        check(t, "Europe/Zurich", (16, "wednesday", "2026-12-02"));
        check(t, "Asia/Tokyo", (0, "thursday", "2026-12-03"));
        check(t, "America/Los_Angeles", (7, "wednesday", "2026-12-02"));
        assert!(matches!(derive_clock(t, "Mars/Olympus"), Err(CoreError::Invalid { .. })));
    }
}

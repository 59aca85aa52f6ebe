//! Arbitrary text must never crash the parser, and whatever parses must read back unchanged
//! from both of the formats it writes.
#![no_main]

use charter_policy::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = Policy::parse_auto(text) else {
        return;
    };
    let yaml = policy.to_yaml().expect("a parsed policy writes as YAML");
    let from_yaml = Policy::from_yaml(&yaml).unwrap_or_else(|err| panic!("{err}\n{yaml}"));
    assert_eq!(from_yaml, policy, "YAML round trip\n{yaml}");
    let json = policy.to_json().expect("a parsed policy writes as JSON");
    let from_json = Policy::from_json(&json).unwrap_or_else(|err| panic!("{err}\n{json}"));
    assert_eq!(from_json, policy, "JSON round trip\n{json}");
});

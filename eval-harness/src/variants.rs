//! A suite with variants runs once for each: its definition becomes one per variant (the same
//! tasks, agent and scorers), each planned, run, gated and saved on its own, all under one
//! variants run id. `EVAL_VARIANTS` picks which variants run.

use crate::env::HarnessEnv;
use crate::names::ident_segment;
use crate::suite_def::SuiteDef;
use eval_engine::variant::{Variant, check_variant_name};
use std::collections::HashMap;

/// What a suite runs as.
pub(crate) struct Expanded {
    /// Itself when it has no variants, else one definition per variant that `EVAL_VARIANTS`
    /// lets run (none when it lets none), all in one group.
    pub defs: Vec<SuiteDef>,
    /// The names of all its variants, run or not.
    pub variants: Vec<String>,
}

/// What `def` runs as. `Err` says why the suite's variants are not usable.
pub(crate) fn expand(def: SuiteDef, env: &HarnessEnv, group: &str) -> Result<Expanded, String> {
    let Some(source) = &def.config.variants else {
        return Ok(Expanded {
            defs: vec![def],
            variants: Vec::new(),
        });
    };
    let path = def.site.path();
    let variants = source.variants().map_err(|why| format!("suite `{path}`: {why}"))?;
    check_variants(&variants).map_err(|why| format!("suite `{path}`: {why}"))?;
    Ok(Expanded {
        variants: variants.iter().map(|v| v.name().to_owned()).collect(),
        defs: variants
            .into_iter()
            .filter(|variant| env.runs_variant(variant.name()))
            .map(|variant| def.as_variant(variant.in_group(group)))
            .collect(),
    })
}

/// A suite's variants must be there, and each must name its own runs, baseline and tests.
/// (The macro checks the variants it sees listed; a function's are checked here.)
fn check_variants(variants: &[Variant]) -> Result<(), String> {
    if variants.is_empty() {
        return Err("its `variants` function returned no variant; return at least one".to_owned());
    }
    let mut by_segment: HashMap<String, &str> = HashMap::new();
    for variant in variants {
        check_variant_name(variant.name()).map_err(|e| e.to_string())?;
        let segment = ident_segment(variant.name());
        if let Some(other) = by_segment.insert(segment.clone(), variant.name()) {
            return Err(match other == variant.name() {
                true => format!("variant `{other}` is given twice; keep one"),
                false => format!(
                    "variants `{other}` and `{}` would both be named `{segment}` in test names; rename one",
                    variant.name()
                ),
            });
        }
    }
    Ok(())
}

/// `EVAL_VARIANTS` may name only variants some suite has: a misspelt name would otherwise run
/// nothing of those suites and pass. `known` holds each suite with variants and their names.
pub(crate) fn check_selection(env: &HarnessEnv, known: &[(String, Vec<String>)]) -> Result<(), String> {
    let Some(asked) = &env.variants else { return Ok(()) };
    let unknown: Vec<&str> = asked
        .iter()
        .filter(|name| !known.iter().any(|(_, names)| names.contains(name)))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let listed = match known.is_empty() {
        true => "no suite of this test target has variants".to_owned(),
        false => known
            .iter()
            .map(|(suite, names)| format!("suite `{suite}` has {}", names.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
    };
    Err(format!(
        "EVAL_VARIANTS names {}, which no suite has: {listed}",
        unknown
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn variant(name: &str) -> Variant {
        Variant::new(name, json!(null)).unwrap()
    }

    #[test]
    fn each_variant_names_its_own_tests() {
        assert!(check_variants(&[variant("cheap"), variant("strong")]).is_ok());
        assert_eq!(
            check_variants(&[]).unwrap_err(),
            "its `variants` function returned no variant; return at least one"
        );
        assert_eq!(
            check_variants(&[variant("cheap"), variant("cheap")]).unwrap_err(),
            "variant `cheap` is given twice; keep one"
        );
        assert_eq!(
            check_variants(&[variant("gpt-4o"), variant("gpt_4o")]).unwrap_err(),
            "variants `gpt-4o` and `gpt_4o` would both be named `gpt_4o` in test names; rename one"
        );
    }

    #[test]
    fn a_variant_no_suite_has_is_named() {
        let env =
            |names: &[&str]| HarnessEnv::from_vars(|var| (var == "EVAL_VARIANTS").then(|| names.join(" , "))).unwrap();
        let known = vec![("weather".to_owned(), vec!["cheap".to_owned(), "strong".to_owned()])];
        assert!(check_selection(&env(&["cheap"]), &known).is_ok());
        assert!(check_selection(&HarnessEnv::from_vars(|_| None).unwrap(), &[]).is_ok());
        assert!(HarnessEnv::from_vars(|var| (var == "EVAL_VARIANTS").then(|| "a,,b".to_owned())).is_err());
        assert_eq!(
            check_selection(&env(&["cheap", "chaep"]), &known).unwrap_err(),
            "EVAL_VARIANTS names `chaep`, which no suite has: suite `weather` has cheap, strong"
        );
        assert_eq!(
            check_selection(&env(&["cheap"]), &[]).unwrap_err(),
            "EVAL_VARIANTS names `cheap`, which no suite has: no suite of this test target has variants"
        );
    }
}

//! The files of a crate import each other without cycles: the paths each `src/**/*.rs` names
//! (`use crate::…`, `super::…`, `self::…`, a child module's name, `crate::a::f()` inline) make
//! a graph of files, and a cycle in it fails the test, naming the files in order. A cycle means
//! two files are one concept split in two, or that a shared piece wants a file of its own.
//!
//! Only reads the source tree. The parser is a small lexer, not a Rust parser: it drops comments
//! and literals, skips the bodies of `quote!`-like macros (generated code, not imports) and
//! follows `mod` declarations (with `#[path]`) from each crate root.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The source without its unit tests: a file's `#[cfg(test)] mod tests { … }`, which by this
/// workspace's convention ends the file. Tests may use what they test and the helpers that
/// drive it; only what ships has to be free of cycles.
fn shipped_part(source: &str) -> &str {
    let mut offset = 0;
    let mut lines = source.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod ") && next.trim_end().ends_with('{'))
        {
            return &source[..offset];
        }
        offset += line.len();
    }
    source
}

/// The crates checked, as directories of the workspace.
const CRATES: &[&str] = &["eval-core", "eval-macros", "eval-harness"];

#[test]
fn files_of_a_crate_import_each_other_without_cycles() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cycles = Vec::new();
    for krate in CRATES {
        let dir = workspace.join(krate);
        for root in crate_roots(&dir) {
            let graph = Graph::from_disk(&dir, &root);
            assert!(
                graph.files.len() > 1,
                "{krate}: found no modules under {}",
                root.display()
            );
            for cycle in graph.cycles() {
                cycles.push(format!("{krate}: {}", cycle.join(" → ")));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "files that import each other in a cycle:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn unit_tests_at_the_end_of_a_file_are_no_edges() {
    let graph = Graph::from_sources(&[
        ("src/lib.rs", "mod a; mod b;\n#[cfg(test)]\nmod support;"),
        (
            "src/a.rs",
            "pub struct A;\n\n#[cfg(test)]\nmod tests {\n    use crate::support::S;\n}\n",
        ),
        (
            "src/b.rs",
            "pub struct B;\n#[cfg(test)]\nfn helper() { crate::a::A; }\n",
        ),
        ("src/support.rs", "use crate::a::A;"),
    ]);
    assert!(graph.cycles().is_empty(), "{:?}", graph.cycles());
    // A test function that is not a test module still counts: only the closing test module is cut.
    let graph = Graph::from_sources(&[
        ("src/lib.rs", "mod a; mod b;"),
        (
            "src/a.rs",
            "use crate::b::B;\n#[cfg(test)]\nfn helper() {}\npub struct A;",
        ),
        ("src/b.rs", "use crate::a::A;"),
    ]);
    assert_eq!(graph.cycles().len(), 1);
}

#[test]
fn a_cycle_through_use_groups_inline_paths_and_super_is_found() {
    let graph = Graph::from_sources(&[
        ("src/lib.rs", "mod a; mod b; pub mod c; pub use a::{A, self as aa};"),
        ("src/a.rs", "use crate::{b::B, c};\n// use crate::nothing::here;\n"),
        ("src/b.rs", "fn f() { crate::c::inner::go(); let s = \"crate::a::A\"; }"),
        ("src/c.rs", "mod inner;"),
        ("src/c/inner.rs", "use super::super::a::A; mod tests { use super::*; }"),
    ]);
    assert_eq!(
        graph.cycles(),
        vec![vec!["src/a.rs", "src/b.rs", "src/c/inner.rs", "src/a.rs"]],
        "{graph:?}"
    );
}

#[test]
fn generated_code_self_imports_and_external_paths_are_no_edges() {
    let graph = Graph::from_sources(&[
        ("src/lib.rs", "mod a; mod b; use b::B;"),
        (
            "src/a.rs",
            "use std::fmt; use ::serde::Serialize; fn f() { quote! { use super::b; crate::b::x() } }",
        ),
        (
            "src/b.rs",
            "use crate::a::A; macro_rules! m { () => { $crate::b::B } } mod tests { use super::*; }",
        ),
    ]);
    assert_eq!(graph.cycles(), Vec::<Vec<String>>::new(), "{graph:?}");
    assert_eq!(graph.edges["src/a.rs"], BTreeSet::new());
    assert_eq!(graph.edges["src/b.rs"], BTreeSet::from(["src/a.rs".to_owned()]));
}

/// The crate roots under `dir/src`: the library, and each binary (a crate of its own).
fn crate_roots(dir: &Path) -> Vec<PathBuf> {
    let src = dir.join("src");
    let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .filter(|p| p.is_file())
        .collect();
    if let Ok(entries) = fs::read_dir(src.join("bin")) {
        let mut bins: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter_map(|p| match p.extension() {
                Some(ext) if ext == "rs" => Some(p),
                _ if p.join("main.rs").is_file() => Some(p.join("main.rs")),
                _ => None,
            })
            .collect();
        bins.sort();
        roots.extend(bins);
    }
    roots
}

/// Which file each file imports from, by path relative to the crate directory.
#[derive(Debug, Default)]
struct Graph {
    files: BTreeSet<String>,
    edges: BTreeMap<String, BTreeSet<String>>,
}

/// A module: the file it lives in, and the modules declared in it by name.
#[derive(Debug, Default, Clone)]
struct Module {
    file: String,
    children: BTreeSet<String>,
}

/// What a file says, once lexed: its `mod` declarations and the paths it names.
struct Scanned {
    /// `(module path inside the file, name, #[path] value)` of each `mod name;`.
    declared: Vec<(Vec<String>, String, Option<String>)>,
    /// Inline `mod name { … }` blocks, as module paths inside the file.
    inline: Vec<Vec<String>>,
    /// `(module path inside the file, path as written)` of each path naming a module.
    paths: Vec<(Vec<String>, Vec<String>)>,
}

impl Graph {
    fn from_disk(dir: &Path, root: &Path) -> Graph {
        Graph::build(&relative(dir, root), |file| fs::read_to_string(dir.join(file)).ok())
    }

    fn from_sources(sources: &[(&str, &str)]) -> Graph {
        let sources: BTreeMap<&str, &str> = sources.iter().copied().collect();
        Graph::build("src/lib.rs", |file| sources.get(file).map(|s| s.to_string()))
    }

    /// Follows `mod` declarations from `root`, then resolves every path to the file it names.
    fn build(root: &str, read: impl Fn(&str) -> Option<String>) -> Graph {
        let mut modules: BTreeMap<Vec<String>, Module> = BTreeMap::new();
        let mut scanned: Vec<(String, Vec<String>, Scanned)> = Vec::new();
        let mut queue = vec![(root.to_owned(), Vec::<String>::new(), true)];
        while let Some((file, module, mod_rs)) = queue.pop() {
            let Some(source) = read(&file) else { continue };
            let scan = scan(&lex(shipped_part(&source)));
            modules.entry(module.clone()).or_default().file = file.clone();
            for inner in &scan.inline {
                let path = [module.clone(), inner.clone()].concat();
                modules.entry(path).or_default().file = file.clone();
                let (parent, name) = inner.split_at(inner.len() - 1);
                modules
                    .entry([module.clone(), parent.to_vec()].concat())
                    .or_default()
                    .children
                    .insert(name[0].clone());
            }
            // A mod-rs file (a crate root, `mod.rs`) keeps its children next to it; `a.rs` in `a/`.
            let here = Path::new(&file).parent().unwrap_or(Path::new(""));
            let dir = if mod_rs {
                here.to_path_buf()
            } else {
                here.join(Path::new(&file).file_stem().unwrap())
            };
            for (inside, name, path_attr) in &scan.declared {
                let parent = [module.clone(), inside.clone()].concat();
                modules.entry(parent.clone()).or_default().children.insert(name.clone());
                let child = [parent, vec![name.clone()]].concat();
                let nested: PathBuf = inside.iter().collect();
                let (child_file, child_mod_rs) = match path_attr {
                    Some(p) if inside.is_empty() => (here.join(p), p.ends_with("mod.rs")),
                    Some(p) => (dir.join(&nested).join(p), p.ends_with("mod.rs")),
                    None => {
                        let flat = dir.join(&nested).join(format!("{name}.rs"));
                        if read(&slash(&flat)).is_some() {
                            (flat, false)
                        } else {
                            (dir.join(&nested).join(name).join("mod.rs"), true)
                        }
                    }
                };
                queue.push((slash(&child_file), child, child_mod_rs));
            }
            scanned.push((file, module, scan));
        }
        let mut graph = Graph::default();
        for (file, module, scan) in scanned {
            graph.files.insert(file.clone());
            let edges = graph.edges.entry(file.clone()).or_default();
            for (inside, path) in scan.paths {
                let current = [module.clone(), inside].concat();
                if let Some(target) = resolve(&modules, &current, &path)
                    && target != file
                {
                    edges.insert(target);
                }
            }
        }
        graph
    }

    /// One cycle through each group of files that reach each other (Tarjan's components).
    fn cycles(&self) -> Vec<Vec<String>> {
        let mut cycles = Vec::new();
        for component in self.components() {
            if component.len() < 2 {
                continue;
            }
            let start = component.iter().next().unwrap().clone();
            let mut path = vec![start.clone()];
            let mut seen = BTreeSet::from([start.clone()]);
            if self.walk_back_to(&start, &component, &mut path, &mut seen) {
                cycles.push(path);
            }
        }
        cycles.sort();
        cycles
    }

    /// Depth-first search for a way back to `start` inside `component`, extending `path`.
    fn walk_back_to(
        &self,
        start: &str,
        component: &BTreeSet<String>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let last = path.last().unwrap().clone();
        for next in self.edges.get(&last).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if component.contains(next) && seen.insert(next.clone()) {
                path.push(next.clone());
                if self.walk_back_to(start, component, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }

    fn components(&self) -> Vec<BTreeSet<String>> {
        struct Tarjan<'g> {
            graph: &'g Graph,
            index: BTreeMap<&'g str, usize>,
            low: BTreeMap<&'g str, usize>,
            stack: Vec<&'g str>,
            on_stack: BTreeSet<&'g str>,
            out: Vec<BTreeSet<String>>,
        }
        impl<'g> Tarjan<'g> {
            fn visit(&mut self, v: &'g str) {
                let n = self.index.len();
                self.index.insert(v, n);
                self.low.insert(v, n);
                self.stack.push(v);
                self.on_stack.insert(v);
                for w in self.graph.edges.get(v).into_iter().flatten() {
                    let w = w.as_str();
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let low = self.low[v].min(self.low[w]);
                        self.low.insert(v, low);
                    } else if self.on_stack.contains(w) {
                        let low = self.low[v].min(self.index[w]);
                        self.low.insert(v, low);
                    }
                }
                if self.low[v] == self.index[v] {
                    let mut component = BTreeSet::new();
                    while let Some(w) = self.stack.pop() {
                        self.on_stack.remove(w);
                        component.insert(w.to_owned());
                        if w == v {
                            break;
                        }
                    }
                    self.out.push(component);
                }
            }
        }
        let mut tarjan = Tarjan {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            out: Vec::new(),
        };
        for file in &self.files {
            if !tarjan.index.contains_key(file.as_str()) {
                tarjan.visit(file);
            }
        }
        tarjan.out
    }
}

/// The file of the module `path` names from inside `current`, if it names one of the crate's.
fn resolve(modules: &BTreeMap<Vec<String>, Module>, current: &[String], path: &[String]) -> Option<String> {
    let mut segments = path.iter().map(String::as_str).peekable();
    let mut at: Vec<String> = match *segments.peek()? {
        "crate" => {
            segments.next();
            Vec::new()
        }
        "self" | "super" => current.to_vec(),
        // A child module named without `self::` (2018 paths); anything else is another crate.
        first if modules.get(current).is_some_and(|m| m.children.contains(first)) => current.to_vec(),
        _ => return None,
    };
    while let Some(&segment) = segments.peek() {
        match segment {
            "self" => {}
            "super" => {
                at.pop()?;
            }
            _ => break,
        }
        segments.next();
    }
    // The deepest module the path reaches; what follows is an item in it.
    for segment in segments {
        if !modules.get(&at).is_some_and(|m| m.children.contains(segment)) {
            break;
        }
        at.push(segment.to_owned());
    }
    modules.get(&at).map(|m| m.file.clone())
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    /// `::`
    PathSep,
    Str(String),
    Punct(char),
}

/// Identifiers, `::`, string literals and punctuation; comments, numbers, chars and lifetimes
/// are dropped. `$crate` lexes as `crate`.
fn lex(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' || ((c == 'r' || c == 'b' || c == 'c') && starts_string(&chars[i..])) {
            let (text, end) = string_literal(&chars, i);
            tokens.push(Token::Str(text));
            i = end;
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a): skip either.
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' || (c == '$' && chars[i + 1..].starts_with(&['c', 'r', 'a', 't', 'e']))
        {
            let start = if c == '$' { i + 1 } else { i };
            i = start;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(Token::Ident(word.clone()));
            if word == "r" && at(i) == '#' {
                // A raw identifier: `r#type`.
                tokens.pop();
                i += 1;
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push(Token::PathSep);
            i += 2;
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
}

/// Whether `chars` opens a prefixed string literal: `r"`, `r#"`, `b"`, `br"`, `c"`, `cr#"`.
fn starts_string(chars: &[char]) -> bool {
    let rest = match chars {
        ['b' | 'c', 'r', rest @ ..] => rest,
        ['r' | 'b' | 'c', rest @ ..] => rest,
        _ => return false,
    };
    let hashes = rest.iter().take_while(|c| **c == '#').count();
    rest.get(hashes) == Some(&'"') && (hashes == 0 || chars[1] == 'r' || chars[0] == 'r')
}

/// The text of the string literal starting at `start` and the index after it.
fn string_literal(chars: &[char], start: usize) -> (String, usize) {
    let mut i = start;
    let mut raw = false;
    while chars[i] != '"' && chars[i] != '#' {
        raw |= chars[i] == 'r';
        i += 1;
    }
    let hashes = chars[i..].iter().take_while(|c| **c == '#').count();
    i += hashes + 1;
    let mut text = String::new();
    while i < chars.len() {
        if !raw && chars[i] == '\\' {
            text.push(chars.get(i + 1).copied().unwrap_or('\\'));
            i += 2;
            continue;
        }
        if chars[i] == '"' && chars[i + 1..].iter().take(hashes).filter(|c| **c == '#').count() == hashes {
            return (text, i + 1 + hashes);
        }
        text.push(chars[i]);
        i += 1;
    }
    (text, i)
}

/// Macros whose bodies are code generated for somewhere else.
const GENERATING_MACROS: &[&str] = &["quote", "quote_spanned", "parse_quote", "parse_quote_spanned"];

fn scan(tokens: &[Token]) -> Scanned {
    let mut scanned = Scanned {
        declared: Vec::new(),
        inline: Vec::new(),
        paths: Vec::new(),
    };
    // Inline modules open around `i`, each with the brace depth inside it.
    let mut inside: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut path_attr: Option<String> = None;
    let mut i = 0;
    let ident = |i: usize| match tokens.get(i) {
        Some(Token::Ident(s)) => Some(s.as_str()),
        _ => None,
    };
    let current = |inside: &[(String, usize)]| inside.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>();
    while i < tokens.len() {
        match &tokens[i] {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                if inside.last().is_some_and(|(_, d)| *d == depth) {
                    inside.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Token::Punct('#') if tokens.get(i + 1) == Some(&Token::Punct('[')) => {
                if let (Some("path"), Some(Token::Punct('=')), Some(Token::Str(p))) =
                    (ident(i + 2), tokens.get(i + 3), tokens.get(i + 4))
                {
                    path_attr = Some(p.clone());
                }
            }
            Token::Ident(word)
                if GENERATING_MACROS.contains(&word.as_str()) && tokens.get(i + 1) == Some(&Token::Punct('!')) =>
            {
                i = skip_group(tokens, i + 2);
                continue;
            }
            Token::Ident(word) if word == "mod" && i.checked_sub(1).is_none_or(|p| tokens[p] != Token::PathSep) => {
                if let Some(name) = ident(i + 1) {
                    match tokens.get(i + 2) {
                        Some(Token::Punct(';')) => {
                            scanned
                                .declared
                                .push((current(&inside), name.to_owned(), path_attr.take()));
                        }
                        Some(Token::Punct('{')) => {
                            depth += 1;
                            inside.push((name.to_owned(), depth));
                            scanned.inline.push(current(&inside));
                            path_attr = None;
                            i += 3;
                            continue;
                        }
                        _ => {}
                    }
                }
            }
            Token::Ident(word) if word == "use" => {
                let mut trees = Vec::new();
                i = use_tree(tokens, i + 1, Vec::new(), &mut trees);
                let here = current(&inside);
                scanned.paths.extend(trees.into_iter().map(|p| (here.clone(), p)));
                continue;
            }
            Token::Ident(_) if i.checked_sub(1).is_none_or(|p| tokens[p] != Token::PathSep) => {
                // An inline path (`crate::a::f()`, `child::T`): its leading segments.
                let mut path = Vec::new();
                let mut j = i;
                while let Some(segment) = ident(j) {
                    path.push(segment.to_owned());
                    j += 1;
                    if tokens.get(j) != Some(&Token::PathSep) || ident(j + 1).is_none() {
                        break;
                    }
                    j += 1;
                }
                if path.len() > 1 {
                    scanned.paths.push((current(&inside), path));
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    scanned
}

/// Expands the use tree starting at `i` into `out`; returns the index after it.
fn use_tree(tokens: &[Token], mut i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    if tokens.get(i) == Some(&Token::PathSep) {
        // `use ::other_crate::…`
        return skip_to(tokens, i, ';');
    }
    loop {
        match tokens.get(i) {
            Some(Token::Ident(segment)) => {
                path.push(segment.clone());
                i += 1;
                match tokens.get(i) {
                    Some(Token::PathSep) => i += 1,
                    Some(Token::Ident(word)) if word == "as" => {
                        out.push(path);
                        return i + 2;
                    }
                    _ => {
                        out.push(path);
                        return i;
                    }
                }
            }
            Some(Token::Punct('*')) => {
                out.push(path);
                return i + 1;
            }
            Some(Token::Punct('{')) => {
                i += 1;
                while let Some(token) = tokens.get(i) {
                    match token {
                        Token::Punct('}') => return i + 1,
                        Token::Punct(',') => i += 1,
                        _ => i = use_tree(tokens, i, path.clone(), out),
                    }
                }
                return i;
            }
            _ => return i,
        }
    }
}

/// The index after the delimited group (`(…)`, `[…]` or `{…}`) opening at `i`.
fn skip_group(tokens: &[Token], mut i: usize) -> usize {
    let mut depth = 0;
    while let Some(token) = tokens.get(i) {
        match token {
            Token::Punct('(' | '[' | '{') => depth += 1,
            Token::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

fn skip_to(tokens: &[Token], mut i: usize, end: char) -> usize {
    while i < tokens.len() && tokens[i] != Token::Punct(end) {
        i += 1;
    }
    i
}

fn relative(dir: &Path, file: &Path) -> String {
    slash(file.strip_prefix(dir).unwrap())
}

/// A path with `/` separators and `a/../b` folded, as map keys.
fn slash(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::CurDir => {}
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    parts.join("/")
}

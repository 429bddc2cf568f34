//! The README's Rust snippets are `examples/readme.rs`: every snippet's lines appear there
//! unchanged (indentation aside), and the program runs to the end.

use std::path::Path;
use std::process::Command;

/// The README's ```rust blocks, each as its non-blank lines without indentation.
fn readme_snippets(readme: &str) -> Vec<Vec<&str>> {
    let mut snippets = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```rust") => current = Some(Vec::new()),
            (Some(_), "```") => snippets.push(current.take().unwrap()),
            (Some(lines), text) if !text.is_empty() => lines.push(text.trim_end()),
            _ => {}
        }
    }
    snippets
}

fn trimmed_lines(source: &str) -> Vec<&str> {
    source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn every_readme_snippet_is_in_the_example_that_runs_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let example = std::fs::read_to_string(root.join("examples/readme.rs")).unwrap();
    let example = trimmed_lines(&example);
    let snippets = readme_snippets(&readme);
    assert!(snippets.len() >= 9, "found {} snippets", snippets.len());
    let mut from = 0;
    for (i, snippet) in snippets.iter().enumerate() {
        let at = (from..example.len().saturating_sub(snippet.len() - 1))
            .find(|&k| example[k..k + snippet.len()] == snippet[..]);
        let Some(at) = at else {
            panic!(
                "README snippet {i} (starting '{}') is not in examples/readme.rs, in order",
                snippet[0]
            );
        };
        from = at + snippet.len();
    }
}

#[test]
fn the_readme_example_runs_to_the_end() {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target/<profile>/examples/readme
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/readme");
    assert!(path.exists(), "{} is not built", path.display());
    let out = Command::new(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("every README snippet ran"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

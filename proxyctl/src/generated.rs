//! Shell completions and man pages for `proxyctl` and `proxyd`, generated
//! from their clap definitions so they cannot drift from the parsers.
//!
//! The files are committed under `completions/` and `man/` at the workspace
//! root; `tests/generated.rs` fails when they are stale and rewrites them
//! with `UPDATE_GENERATED=1`.

use clap_complete::Shell;

/// One generated file: its path relative to the workspace root, and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// E.g. `completions/_proxyctl`.
    pub path: String,
    /// The file's bytes.
    pub content: Vec<u8>,
}

/// The completion script for `shell`.
pub fn completion(shell: Shell, mut command: clap::Command, name: &str) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Every generated file, for both binaries, plus `proxyd.toml(5)` from
/// `docs/config.md` under the workspace `root`.
pub fn all(root: &std::path::Path) -> std::io::Result<Vec<GeneratedFile>> {
    let mut files = Vec::new();
    let reference = std::fs::read_to_string(root.join("docs/config.md"))?;
    files.push(GeneratedFile {
        path: "man/proxyd.toml.5".to_string(),
        content: crate::config_man::render(&reference, env!("CARGO_PKG_VERSION")).into_bytes(),
    });
    for (name, command) in [
        ("proxyctl", crate::cli::command()),
        ("proxyd", proxyd::cli::command()),
    ] {
        for (shell, path) in [
            (Shell::Bash, format!("completions/{name}.bash")),
            (Shell::Zsh, format!("completions/_{name}")),
            (Shell::Fish, format!("completions/{name}.fish")),
        ] {
            files.push(GeneratedFile {
                path,
                content: completion(shell, command.clone(), name).into_bytes(),
            });
        }
        files.push(man_page(&format!("man/{name}.8"), command.clone())?);
        // The SUBCOMMANDS section refers to `proxyctl-reload(8)` and so on:
        // give each subcommand its page (with the global options propagated).
        let mut built = command;
        built.build();
        for sub in built.get_subcommands().filter(|s| s.get_name() != "help") {
            let page = format!("{name}-{}", sub.get_name());
            files.push(man_page(&format!("man/{page}.8"), sub.clone())?);
        }
    }
    Ok(files)
}

fn man_page(path: &str, command: clap::Command) -> std::io::Result<GeneratedFile> {
    let mut content = Vec::new();
    clap_mangen::Man::new(command)
        .section("8")
        .render(&mut content)?;
    Ok(GeneratedFile {
        path: path.to_string(),
        content,
    })
}

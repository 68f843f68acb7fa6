// Package config owns Sesame's one Config struct: every setting, its default,
// where it comes from (built-in default < optional YAML file < SESAME_*
// environment < command-line flags) and Validate, which names the bad
// setting so start-up can stop with a message an operator can act on.
//
// It also resolves the system secret (SESAME_SECRET / SESAME_SECRET_FILE,
// or a generated file beside a SQLite database) into a *secret.Keyring.
//
// It imports only the standard library, go.yaml.in/yaml/v3 and
// internal/secret; nothing of Sesame depends on how a setting was given.
package config

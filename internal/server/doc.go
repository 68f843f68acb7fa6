// Package server is Sesame's composition root: New builds everything in
// visible order (store, migrations, system keyring, use cases, demo data,
// HTTP engine, routes) and Run serves until its context ends, then drains
// in-flight requests and closes the store.
//
// Feature packages (oauth, oidc, web, admin) are constructed in New and
// mounted in mount(); each owns its routes. Nothing imports this package
// but cmd/sesame and end-to-end tests.
package server

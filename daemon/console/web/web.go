// Package web is the web console's page, built into dist/ and embedded in
// the daemon. (Placeholder until con-web's page lands: the lead takes
// con-web's version of this package at merge.)
package web

import "embed"

// FS holds dist/: index.html (with the literal __QN_CSRF__ the daemon
// replaces by its CSRF token) and assets/.
//
//go:embed dist
var FS embed.FS

// Package web holds the web console's page, built from src/ into dist/ by
// `make console` (build/main.go) and embedded in the daemon: dist/index.html
// (its <meta name="qn-csrf"> carries the placeholder __QN_CSRF__, replaced by
// the server with the per-start token), dist/assets/app.js and
// dist/assets/app.css. The page makes no request outside its own origin.
package web

import "embed"

// FS holds dist/: index.html, assets/app.js, assets/app.css.
//
//go:embed dist
var FS embed.FS

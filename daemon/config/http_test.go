package config

import (
	"strings"
	"testing"
)

// TestHTTPOffByDefault: no [http] section (and the example) leaves the
// listener off.
func TestHTTPOffByDefault(t *testing.T) {
	for name, text := range map[string]string{"empty": "", "example": Example} {
		c := Defaults()
		if err := Parse(text, &c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.HTTP.Enabled() {
			t.Errorf("%s: http listener on by default: %+v", name, c.HTTP)
		}
	}
}

// TestHTTPLoopbackNeedsNothing: a loopback listen address is accepted
// without TLS or token, and is loopback.
func TestHTTPLoopbackNeedsNothing(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:9476", "[::1]:9476", "localhost:9476", "127.0.0.2:1"} {
		c := Defaults()
		if err := Parse("[http]\nlisten = \""+listen+"\"\n", &c); err != nil {
			t.Errorf("%s: %v", listen, err)
			continue
		}
		if !c.HTTP.Enabled() || !c.HTTP.Loopback() {
			t.Errorf("%s: enabled %v loopback %v", listen, c.HTTP.Enabled(), c.HTTP.Loopback())
		}
	}
}

// TestHTTPRefusals: bad addresses, and a non-loopback address without TLS
// or token, are refused with an error naming the key.
func TestHTTPRefusals(t *testing.T) {
	const tls = "tls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\n"
	for _, tc := range []struct{ text, key string }{
		{`listen = "0.0.0.0:9476"`, "http.tls_cert"},
		{`listen = ":9476"`, "http.tls_cert"},
		{`listen = "192.0.2.1:9476"` + "\ntoken_file = \"/t\"", "http.tls_cert"},
		{`listen = "192.0.2.1:9476"` + "\n" + tls, "http.token_file"},
		{`listen = "[2001:db8::1]:9476"` + "\n" + tls, "http.token_file"},
		{`listen = "127.0.0.1"`, "http.listen"},
		{`listen = "127.0.0.1:0"`, "http.listen"},
		{`listen = "127.0.0.1:99999"`, "http.listen"},
		{`listen = "metrics.example:9476"`, "http.listen"},
		{`tls_cert = "/c.pem"`, "http.tls_key"},
		{`tls_key = "/k.pem"`, "http.tls_cert"},
		{`listen = "127.0.0.1:9476"` + "\ntoken_file = \"token\"", "http.token_file"},
	} {
		c := Defaults()
		err := Parse("[http]\n"+tc.text+"\n", &c)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: got %v, want an error naming %s", tc.text, err, tc.key)
		}
	}
	c := Defaults()
	if err := Parse("[http]\nlisten = \"192.0.2.1:9476\"\n"+tls+"token_file = \"/t\"\n", &c); err != nil {
		t.Errorf("non-loopback with TLS and token: %v", err)
	}
	if c.HTTP.Loopback() {
		t.Error("192.0.2.1 counted as loopback")
	}
}

// TestHTTPConsole: console needs listen (the error names http.console);
// with listen it is on.
func TestHTTPConsole(t *testing.T) {
	c := Defaults()
	if err := Parse("[http]\nconsole = true\n", &c); err == nil || !strings.Contains(err.Error(), "http.console") {
		t.Errorf("console without listen: %v, want an error naming http.console", err)
	}
	c = Defaults()
	if err := Parse("[http]\nlisten = \"127.0.0.1:9476\"\nconsole = true\n", &c); err != nil || !c.HTTP.Console {
		t.Errorf("console with listen: %v, console %v", err, c.HTTP.Console)
	}
	c = Defaults()
	if err := Parse("[http]\nconsole = false\n", &c); err != nil {
		t.Errorf("console = false without listen: %v", err)
	}
}

package lb

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

// Service names: a load balancer is <label>.<domain> (A/AAAA: its VIP) and
// each listener _<listener>._<proto>.<label>.<domain> (SRV: the listener's
// port on <label>.<domain>), where label is the load balancer's name as a
// DNS label ('_' becomes '-') and domain the network's DNS domain.

var listenerRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ListenerName is l's name: its own, or the port number as text.
func (l Listener) ListenerName() string {
	if l.Name != "" {
		return l.Name
	}
	return strconv.Itoa(l.Port)
}

// ValidateListenerName checks a listener name ("" is the default, the port
// number): a DNS label of lower-case letters, digits and '-'.
func ValidateListenerName(name string) error {
	if name == "" || listenerRE.MatchString(name) {
		return nil
	}
	return errs.New(errs.Invalid, fmt.Sprintf("lb: listener name %q is invalid: use a DNS label (1-63 lower-case letters, digits or '-', starting and ending with a letter or digit)", name))
}

// Label is the DNS label of the load balancer name.
func Label(name string) string { return strings.ReplaceAll(name, "_", "-") }

// HostName is the load balancer's name in domain: <label>.<domain>.
func HostName(l *LoadBalancer, domain string) string {
	return Label(l.Name) + "." + strings.TrimSuffix(domain, ".")
}

// SRVName is listener x's SRV owner name: _<listener>._<proto>.<label>.<domain>.
func SRVName(l *LoadBalancer, x Listener, domain string) string {
	return "_" + x.ListenerName() + "._" + l.Protocol + "." + HostName(l, domain)
}

// ServiceNames are the DNS names of l in domain: its host name first, then
// one SRV name per listener (in listener order).
func ServiceNames(l *LoadBalancer, domain string) []string {
	out := []string{HostName(l, domain)}
	for _, x := range l.Listeners {
		out = append(out, SRVName(l, x, domain))
	}
	return out
}

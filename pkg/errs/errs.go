// Package errs is QuantumNet's one vocabulary of errors. Every package
// wraps one of the kinds below (directly with %w, or through an error of its
// own made with New), and each protocol maps the kinds once: the daemon to
// gRPC codes (daemon/server), the thin binaries from gRPC codes to CNI codes,
// hook exit codes and qnetctl exit codes (pkg/rpcclient).
//
// The package has no dependencies: pure code (ipam, the security-group
// translator, network validation) can use it without linking anything else.
package errs

import "errors"

// The kinds. Check them with errors.Is.
var (
	// NotFound: the object named does not exist.
	NotFound = errors.New("not found")
	// Conflict: the object, address or name is already taken, or a
	// concurrent change won (the caller may retry).
	Conflict = errors.New("conflict")
	// Exhausted: no free address (or other resource) left.
	Exhausted = errors.New("exhausted")
	// Invalid: the request (a field of it) is wrong; retrying cannot help.
	Invalid = errors.New("invalid argument")
	// InUse: the object cannot go or change while something uses it.
	InUse = errors.New("in use")
	// Unavailable: the daemon or a database it needs is not ready; try
	// again later.
	Unavailable = errors.New("unavailable")
	// Timeout: the operation did not finish in time.
	Timeout = errors.New("timed out")
)

// Kinds lists every kind, most specific first.
var Kinds = []error{Invalid, Unavailable, Exhausted, Conflict, InUse, NotFound, Timeout}

// Kind returns the kind err belongs to, or nil.
func Kind(err error) error {
	if err == nil {
		return nil
	}
	for _, k := range Kinds {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// New returns an error with message msg that is of kind (errors.Is(e,
// kind) holds) without the kind's name in its text: a package's own
// sentinel, such as ipam's "no free address left", of kind Exhausted.
func New(kind error, msg string) error { return &kinded{kind: kind, msg: msg} }

type kinded struct {
	kind error
	msg  string
}

func (e *kinded) Error() string        { return e.msg }
func (e *kinded) Is(target error) bool { return target == e.kind }

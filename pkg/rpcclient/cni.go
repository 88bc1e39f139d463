package rpcclient

import (
	"errors"
	"strings"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

// CNI error codes of QuantumNet's own (the spec leaves 100+ to plugins).
const (
	CodeExhausted uint = 100 // no free address left in the network
	CodeConflict  uint = 101 // requested address or MAC already in use
	CodeNotFound  uint = 102 // network, port or interface missing
	CodeTimeout   uint = 103 // flows not installed in time
)

// cniCodes is the one mapping of the error vocabulary to CNI error codes.
// An error without a kind is types.ErrInternal (999).
var cniCodes = map[error]uint{
	// 11: the daemon is down, or up but not ready: the runtime retries.
	errs.Unavailable: types.ErrTryAgainLater,
	// 7; 4 (types.ErrInvalidEnvironmentVariables) when the message names a
	// CNI_ variable.
	errs.Invalid:   types.ErrInvalidNetworkConfig,
	errs.Exhausted: CodeExhausted,
	errs.Conflict:  CodeConflict,
	errs.NotFound:  CodeNotFound,
	errs.Timeout:   CodeTimeout,
	// No CNI operation is refused for an object in use; should one be, it
	// stays the generic failure it has always been.
	errs.InUse: types.ErrInternal,
}

// CNIError maps an error from Dial or an RPC to a CNI error.
func CNIError(err error) *types.Error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrIncompatible) {
		return types.NewError(types.ErrIncompatibleCNIVersion, "quantumnetd speaks another API version", err.Error())
	}
	msg := Message(err)
	kind := Kind(err)
	code, ok := cniCodes[kind]
	if !ok {
		return types.NewError(types.ErrInternal, msg, "")
	}
	switch {
	case kind == errs.Unavailable && !Unreachable(err):
		// The daemon answered: it is up but cannot serve yet.
		return types.NewError(code, "quantumnetd is not ready", msg)
	case kind == errs.Invalid && strings.Contains(msg, "CNI_"):
		code = types.ErrInvalidEnvironmentVariables
	}
	return types.NewError(code, msg, "")
}

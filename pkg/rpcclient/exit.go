package rpcclient

import "github.com/quantumnet/quantumnet/pkg/errs"

// hookExits is the one mapping of the error vocabulary to the qemu hook's
// exit codes, for the operations that may refuse (prepare, start, migrate;
// hooks/qemu decides which). libvirt tells only zero from non-zero, and
// prints the hook's stderr (Message) to the user.
var hookExits = map[error]int{
	errs.Invalid:     1,
	errs.NotFound:    1,
	errs.Conflict:    1,
	errs.Exhausted:   1,
	errs.InUse:       1,
	errs.Unavailable: 1,
	errs.Timeout:     1,
}

// HookExit is the exit code of the qemu hook for an operation that failed
// with err (an error without a kind exits 1).
func HookExit(err error) int { return exitCode(hookExits, err) }

// cliExits is the one mapping of the error vocabulary to qnetctl's exit
// codes once the daemon refused (2 is qnetctl's own, for usage errors).
var cliExits = map[error]int{
	errs.Invalid:     1,
	errs.NotFound:    1,
	errs.Conflict:    1,
	errs.Exhausted:   1,
	errs.InUse:       1,
	errs.Unavailable: 1,
	errs.Timeout:     1,
}

// CLIExit is qnetctl's exit code for a command that failed with err (an
// error without a kind exits 1); Message is what it prints.
func CLIExit(err error) int { return exitCode(cliExits, err) }

func exitCode(table map[error]int, err error) int {
	if err == nil {
		return 0
	}
	if c, ok := table[Kind(err)]; ok {
		return c
	}
	return 1
}

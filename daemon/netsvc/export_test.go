package netsvc

import "context"

// Pass is one pass of the runner over every network (its periodic
// sweep), for the benchmarks of netsvc_test.
func (r *Runner) Pass(ctx context.Context) { r.all(ctx) }

package main

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/grpc"

	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// rpc calls the daemon's method f (a method expression of the client:
// (*rpcclient.Client).GetLoadBalancer) with req, and hands its answer to
// reply (lbReply, fipReply(msg), routerReply(msg), said(msg)).
func rpc[Req, Resp any](c *cli, f func(*rpcclient.Client, context.Context, Req, ...grpc.CallOption) (Resp, error),
	req Req, reply func(Resp, error) error) error {
	return c.call(func(ctx context.Context, cl *rpcclient.Client) error { return reply(f(cl, ctx, req)) })
}

// said is the reply of a call whose answer is not shown: msg, once it
// succeeded.
func said[Resp any](c *cli, msg string) func(Resp, error) error {
	return func(_ Resp, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintln(c.out, msg)
		return nil
	}
}

// portArg parses a port number argument (1-65535).
func portArg(field, v string) (uint32, error) {
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil || n == 0 {
		return 0, usageErr(fmt.Sprintf("%s: %q is not a port number (1-65535)", field, v))
	}
	return uint32(n), nil
}

// Package apiserver is the daemon's half of pkg/api: it serves the API on a
// root-only unix socket that no client can stop. Only quantumnetd links it;
// the thin binaries dial through pkg/rpcclient.
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// Server serves the API on a root-only unix socket. Unlike go-plugin's own
// Serve, nothing a client sends can stop it: the controller's Shutdown is a
// no-op, and only Stop (the daemon's signal handler) ends it.
type Server struct {
	path string
	lis  net.Listener
	grpc *grpc.Server
}

// Listen creates the socket (0600) and registers impl. The socket's
// directory is created 0700 when missing (it is then the daemon's own); an
// existing directory keeps its mode (socket = "/run/qn.sock" must not lock
// down /run). A stale socket at path is replaced; anything else there (a
// live socket, a file, a directory) is refused, never deleted. Every server
// recovers handler panics (logged with slog.Default), bounds concurrent
// streams and puts a deadline on unary calls (interceptors.go); opts come
// after those.
func Listen(path string, impl api.QuantumNetServer, opts ...grpc.ServerOption) (*Server, error) {
	if err := socketDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	old := umask(0o177)
	lis, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		lis.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	s := grpc.NewServer(append(serverOptions(slog.Default()), opts...)...)
	hs := health.NewServer()
	hs.SetServingStatus(plugin.GRPCServiceName, grpc_health_v1.HealthCheckResponse_SERVING)
	grpc_health_v1.RegisterHealthServer(s, hs)
	s.RegisterService(&controllerDesc, struct{}{})
	api.RegisterQuantumNetServer(s, impl)
	return &Server{path: path, lis: lis, grpc: s}, nil
}

// socketDir creates dir 0700 if it does not exist; an existing directory is
// left as it is.
func socketDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("socket directory %s: not a directory", dir)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("socket directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("socket directory %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil { // the umask may have narrowed it: set what we mean
		return fmt.Errorf("socket directory %s: %w", dir, err)
	}
	return nil
}

// clearStale removes a stale socket at path: one nobody answers on. A live
// socket or anything that is not a socket is refused.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("socket %s: a %s is in the way (not a socket); refusing to delete it", path, fileKind(fi))
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("socket %s: another quantumnetd is already serving it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("socket %s: removing the stale socket: %w", path, err)
	}
	return nil
}

func fileKind(fi os.FileInfo) string {
	switch {
	case fi.IsDir():
		return "directory"
	case fi.Mode()&os.ModeSymlink != 0:
		return "symbolic link"
	case fi.Mode().IsRegular():
		return "regular file"
	}
	return "file of mode " + fi.Mode().String()
}

// Serve blocks until Stop.
func (s *Server) Serve() error {
	err := s.grpc.Serve(s.lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Stop stops serving (gracefully, waiting for running calls) and removes the socket.
func (s *Server) Stop() {
	s.grpc.GracefulStop()
	_ = os.Remove(s.path)
}

// controllerDesc answers go-plugin's GRPCController.Shutdown, which a client's
// Close or Kill sends, without stopping anything.
var controllerDesc = grpc.ServiceDesc{
	ServiceName: "plugin.GRPCController",
	HandlerType: (*interface{})(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Shutdown",
		Handler: func(_ interface{}, _ context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			return &emptypb.Empty{}, nil
		},
	}},
	Metadata: "plugin/grpc_controller.proto",
}

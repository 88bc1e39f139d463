package main

import (
	"log/slog"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
)

// sdNotify tells systemd (Type=notify, $NOTIFY_SOCKET) how start-up goes:
// STATUS= while waiting, READY=1 after the start-up reconcile, STOPPING=1.
// Without $NOTIFY_SOCKET (not under systemd) it does nothing.
func sdNotify(log *slog.Logger, state string) {
	if _, err := sddaemon.SdNotify(false, state); err != nil {
		log.Warn("sd_notify", "state", state, "err", err)
	}
}

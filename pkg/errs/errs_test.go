package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestKinds(t *testing.T) {
	own := New(Exhausted, "no free address left")
	if own.Error() != "no free address left" {
		t.Fatalf("message: %q", own.Error())
	}
	wrapped := fmt.Errorf("network blue: %w", own)
	if !errors.Is(wrapped, own) || !errors.Is(wrapped, Exhausted) || errors.Is(wrapped, Invalid) {
		t.Fatal("errors.Is does not see through the wrap to the kind")
	}
	if Kind(wrapped) != Exhausted {
		t.Fatalf("Kind = %v", Kind(wrapped))
	}
	if Kind(errors.New("plain")) != nil || Kind(nil) != nil {
		t.Fatal("a plain error has no kind")
	}
	for _, k := range Kinds {
		if Kind(fmt.Errorf("x: %w", k)) != k {
			t.Fatalf("Kind(%v) wrong", k)
		}
	}
}

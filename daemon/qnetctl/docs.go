package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// referenceHeader opens REFERENCE.md.
const referenceHeader = `# qnetctl reference

Generated from the commands themselves by ` + "`qnetctl gen-docs daemon/qnetctl/REFERENCE.md`" + `
(TestReferenceCurrent fails when this file differs from what the commands say:
regenerate it with ` + "`go test ./daemon/qnetctl -run TestReferenceCurrent -update`" + `).

`

func (c *cli) genDocsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-docs FILE",
		Short:  "Write the markdown reference of every command to FILE (- : stdout)",
		Hidden: true,
		Args:   exactly("FILE"),
		RunE: func(cmd *cobra.Command, a []string) error {
			b, err := reference(cmd.Root())
			if err != nil {
				return err
			}
			if a[0] == "-" {
				_, err = c.out.Write(b)
				return err
			}
			return os.WriteFile(a[0], b, 0o644)
		},
	}
}

func (c *cli) genManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write a man page per command into DIR (qnetctl.1, qnetctl-network-create.1, ...)",
		Hidden: true,
		Args:   exactly("DIR"),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := os.MkdirAll(a[0], 0o755); err != nil {
				return err
			}
			h := &doc.GenManHeader{Title: "QNETCTL", Section: "1", Source: "QuantumNet " + Version, Manual: "QuantumNet Manual"}
			return doc.GenManTree(cmd.Root(), h, a[0])
		},
	}
}

// commands is root and every available command below it, depth first in
// cobra's (sorted) order.
func commands(root *cobra.Command) []*cobra.Command {
	all := []*cobra.Command{root}
	for _, sub := range root.Commands() {
		if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
			all = append(all, commands(sub)...)
		}
	}
	return all
}

// anchor is the link within one markdown file to the section of the
// command whose cobra/doc file name is link (qnetctl_network_create.md).
func anchor(link string) string {
	return "#" + strings.ReplaceAll(strings.TrimSuffix(link, ".md"), "_", "-")
}

// reference is the markdown reference of every command, one file.
func reference(root *cobra.Command) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(referenceHeader)
	for _, cmd := range commands(root) {
		if err := doc.GenMarkdownCustom(cmd, &b, anchor); err != nil {
			return nil, err
		}
	}
	return bytes.ReplaceAll(b.Bytes(), []byte("\n\n\n"), []byte("\n\n")), nil
}

// readmeIndex is the README's list of commands (between the qnetctl
// reference markers): each runnable command's usage and summary.
func readmeIndex(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString("| command | what it does |\n| --- | --- |\n")
	for _, cmd := range commands(root) {
		if !cmd.Runnable() || cmd.HasAvailableSubCommands() {
			continue
		}
		link := "daemon/qnetctl/REFERENCE.md" + anchor(strings.ReplaceAll(cmd.CommandPath(), " ", "_"))
		fmt.Fprintf(&b, "| [`%s`](%s) | %s |\n", strings.ReplaceAll(strings.TrimSuffix(cmd.UseLine(), " [flags]"), "|", `\|`), link, strings.ReplaceAll(cmd.Short, "|", `\|`))
	}
	return b.String()
}

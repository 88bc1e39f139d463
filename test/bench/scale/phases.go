package main

import (
	"bufio"
	"os"
	"regexp"
	"sort"
	"time"
)

// phaseNames are the phases of an ADD in the daemon's "attached" line:
// the Northbound transaction, the veth, the OVS transaction, and the wait
// for ovn-controller's ovn-installed; and the whole (the NB transaction
// overlaps the veth).
var phaseNames = []string{"nb", "veth", "ovs", "installed", "total"}

var (
	attachedLine = regexp.MustCompile(`msg=attached .*container=(\S+) `)
	phaseField   = regexp.MustCompile(` (nb|veth|ovs|installed|total)=(\S+)`)
)

// phases fills each level's Phases from the daemon's log: the median of
// each phase over the level's quantumnet samples.
func (b *bench) phases(rep *results) {
	f, err := os.Open(b.D.LogPath)
	if err != nil {
		return
	}
	defer f.Close()
	byID := map[string]map[string]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		m := attachedLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ph := map[string]float64{}
		for _, f := range phaseField.FindAllStringSubmatch(sc.Text(), -1) {
			if d, err := time.ParseDuration(f[2]); err == nil {
				ph[f[1]] = ms(d)
			}
		}
		byID[m[1]] = ph
	}
	for _, lv := range rep.ADD {
		vals := map[string][]float64{}
		for _, id := range lv.ids {
			for k, v := range byID[id] {
				vals[k] = append(vals[k], v)
			}
		}
		for _, k := range phaseNames {
			if len(vals[k]) == 0 {
				continue
			}
			if lv.Phases == nil {
				lv.Phases = map[string]float64{}
			}
			sort.Float64s(vals[k])
			lv.Phases[k] = vals[k][len(vals[k])/2]
		}
	}
}

package order

import (
	"cmp"
	"math"
	"slices"
)

// Location is a store or warehouse that can send goods: to a customer's
// address (Ships) or to a collection store (a transfer).
type Location struct {
	ID  string   `json:"id"`
	Lat *float64 `json:"lat,omitempty"`
	Lon *float64 `json:"lon,omitempty"`
	// Ships says the location may send parcels to customers: every
	// warehouse, and a store with ship_from_store.
	Ships bool `json:"ships"`
	// SafetyStock is what the location keeps back of every SKU from online
	// orders: the web may not sell its last units.
	SafetyStock int64 `json:"safety_stock,omitempty"`
}

// Assignment is the lines one location sends.
type Assignment struct {
	LocationID string    `json:"location_id"`
	Lines      []LineQty `json:"lines"`
}

// ByDistance orders locations nearest first from (lat, lon), keeping the
// given order among equals; locations without coordinates come last. With
// no point to measure from, the order is left as it is.
func ByDistance(locs []Location, lat, lon *float64) []Location {
	out := slices.Clone(locs)
	if lat == nil || lon == nil {
		return out
	}
	dist := func(l Location) float64 {
		if l.Lat == nil || l.Lon == nil {
			return math.Inf(1)
		}
		return HaversineKm(*lat, *lon, *l.Lat, *l.Lon)
	}
	slices.SortStableFunc(out, func(a, b Location) int { return cmp.Compare(dist(a), dist(b)) })
	return out
}

// HaversineKm is the great-circle distance between two points, in kilometres.
func HaversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const earthRadiusKm = 6371
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	dLat, dLon := rad(lat2-lat1), rad(lon2-lon1)
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(rad(lat1))*math.Cos(rad(lat2))*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(h))
}

// Source chooses where the lines come from: the first location (in the
// preference order given, nearest first) that can send every line; else
// the fewest locations that together can, each line whole from one
// location — every pair is tried before three or more are chosen greedily
// (the location that can send the most lines still open first). available
// is what each location can sell of each SKU, its safety stock already
// taken off. Nil when no set of locations can send every line.
func Source(lines []LineQty, prefs []string, available map[string]map[string]int64) []Assignment {
	can := func(loc string, l LineQty) bool { return available[loc][l.SKU] >= l.Quantity }
	canAll := func(loc string, ls []LineQty) bool {
		for _, l := range ls {
			if !can(loc, l) {
				return false
			}
		}
		return true
	}
	for _, loc := range prefs {
		if canAll(loc, lines) {
			return []Assignment{{LocationID: loc, Lines: slices.Clone(lines)}}
		}
	}
	// Two locations: each line from the first of the pair that has it.
	for i, a := range prefs {
		for _, b := range prefs[i+1:] {
			var fromA, fromB []LineQty
			ok := true
			for _, l := range lines {
				switch {
				case can(a, l):
					fromA = append(fromA, l)
				case can(b, l):
					fromB = append(fromB, l)
				default:
					ok = false
				}
				if !ok {
					break
				}
			}
			if ok && len(fromA) > 0 && len(fromB) > 0 {
				return []Assignment{{LocationID: a, Lines: fromA}, {LocationID: b, Lines: fromB}}
			}
		}
	}
	// Three or more: greedily, the location that can send most of what is left.
	open := slices.Clone(lines)
	var plan []Assignment
	for len(open) > 0 {
		best, bestN := "", 0
		for _, loc := range prefs {
			n := 0
			for _, l := range open {
				if can(loc, l) {
					n++
				}
			}
			if n > bestN {
				best, bestN = loc, n
			}
		}
		if bestN == 0 {
			return nil
		}
		var take, rest []LineQty
		for _, l := range open {
			if can(best, l) {
				take = append(take, l)
			} else {
				rest = append(rest, l)
			}
		}
		plan = append(plan, Assignment{LocationID: best, Lines: take})
		open = rest
	}
	return plan
}

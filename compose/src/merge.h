// Compose's merge rules for combining files (-f a.yml -f b.yml, override files, extends,
// include): mappings merge recursively; scalars and most sequences are replaced or appended
// as Compose specifies per attribute; sequences of unique resources (ports, volumes, secrets,
// configs, devices, expose …) are keyed so the later file replaces an entry with the same key;
// command, entrypoint and healthcheck.test are replaced; environment, labels and other
// list-or-dict attributes merge by key whichever syntax each side uses. A value tagged !reset
// removes the attribute; one tagged !override replaces it without merging.
#pragma once

#include "diagnostics.h"
#include "node.h"

namespace stack::compose {

// Merges whole documents: `over` on top of `base` (top-level mappings).
void merge_documents(Node& base, const Node& over, Diagnostics& diags);

// Merges one service definition onto another (used by merge_documents and by extends, where
// the extending service is `over`). `path` is "services.<name>" for rule lookup.
void merge_service(Node& base, const Node& over, Diagnostics& diags);

// Removes what !reset tags still mark and drops the !override tags, after the last merge.
void finish_merge(Node& root);

}  // namespace stack::compose

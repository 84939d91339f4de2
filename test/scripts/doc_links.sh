#!/usr/bin/env bash
# doc_links: every relative link in the project's Markdown files resolves.
# Proves that each link to another file names a file or directory that
# exists, and that each anchor (`file.md#section`, `#section`) names a
# heading of the target, slugged as GitHub slugs headings (lower case,
# punctuation dropped, spaces to hyphens, -1, -2, ... for repeats).  Links in
# code blocks and code spans are not links and are skipped; http(s) and
# mailto links are not checked.  Before checking the project, it checks a
# planted tree with one good and three broken links and fails unless it
# reports exactly the three.  Needs no server.
set -euo pipefail
cd "$(dirname "$0")/../.."

check() {   # check ROOT: prints one line per broken link, exits 1 if any
    perl -CSD -Mutf8 -e '
        use strict; use warnings;
        use File::Find; use File::Basename qw(dirname); use File::Spec;
        my $root = shift;
        my @md;
        find({ no_chdir => 1, wanted => sub {
            if (-d $_ && m{/(\.git|node_modules|dist)$}) { $File::Find::prune = 1; return; }
            push @md, $_ if -f $_ && /\.md$/;
        } }, $root);
        my %anchors;
        sub slugs {
            my ($file) = @_;
            return $anchors{$file} if $anchors{$file};
            my (%seen, %set, $fence);
            open my $fh, "<", $file or return $anchors{$file} = {};
            while (my $l = <$fh>) {
                if ($l =~ /^\s*(```|~~~)/) { $fence = !$fence; next; }
                next if $fence;
                $set{$1} = 1 while $l =~ /<a\s+(?:id|name)="([^"]+)"/g;
                next unless $l =~ /^#{1,6}\s+(.*?)\s*#*\s*$/;
                my $t = $1;
                $t =~ s/\[([^\]]*)\]\([^)]*\)/$1/g;          # links: their text
                $t =~ s/<[^>]+>//g;                           # inline HTML
                $t = lc $t;
                $t =~ s/[^\p{L}\p{N}\p{M}\p{Pc} \-]//g;      # punctuation and symbols
                $t =~ s/ /-/g;
                my $s = $t;
                $s = "$t-" . $seen{$t} if $seen{$t};
                $seen{$t}++;
                $set{$s} = 1;
            }
            return $anchors{$file} = \%set;
        }
        my $bad = 0;
        for my $file (sort @md) {
            open my $fh, "<", $file or die "$file: $!";
            my $fence = 0;
            while (my $l = <$fh>) {
                my $ln = $.;
                if ($l =~ /^\s*(```|~~~)/) { $fence = !$fence; next; }
                next if $fence;
                (my $text = $l) =~ s/`[^`]*`//g;             # code spans
                while ($text =~ /\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g) {
                    my $target = $1;
                    next if $target =~ m{^(https?|mailto|ftp):};
                    my ($path, $anchor) = split /#/, $target, 2;
                    my $dest = $file;
                    if ($path ne "") {
                        $dest = File::Spec->canonpath(dirname($file) . "/$path");
                        unless (-e $dest) {
                            print "$file:$ln: $target: no such file\n"; $bad++; next;
                        }
                    }
                    next unless defined $anchor && $anchor ne "";
                    next unless $dest =~ /\.md$/ && -f $dest;
                    unless (slugs($dest)->{$anchor}) {
                        print "$file:$ln: $target: no heading with anchor #$anchor\n"; $bad++;
                    }
                }
            }
        }
        exit($bad ? 1 : 0);
    ' "$1"
}

# the checker itself: a planted tree whose three broken links it must report
plant=$(mktemp -d)
trap 'rm -rf "$plant"' EXIT
mkdir -p "$plant/docs"
cat > "$plant/README.md" <<'EOF'
See [the guide](docs/guide.md#first-steps-a--b) and [missing](docs/nothing.md).
EOF
cat > "$plant/docs/guide.md" <<'EOF'
# Guide
## First steps: `a` → b
## Details
Back to [the top](#guide), to [no such section](#detail), and
[a repeated heading](#details-1).
```
[not a link](#inside-a-code-block)
```
EOF
if planted=$(check "$plant"); then
    echo "FAIL: the checker passed a tree with broken links"; exit 1
fi
echo "$planted"
expected="$plant/README.md:1: docs/nothing.md: no such file
$plant/docs/guide.md:4: #detail: no heading with anchor #detail
$plant/docs/guide.md:5: #details-1: no heading with anchor #details-1"
if [ "$planted" != "$expected" ]; then
    echo "FAIL: the checker reported, on the planted tree:"
    echo "$planted"
    echo "instead of:"
    echo "$expected"
    exit 1
fi

# the project's own documentation
if ! check .; then
    echo "FAIL: broken links above"; exit 1
fi
echo "ok: every relative link and anchor resolves"

// Download UniProtKB/Swiss-Prot entries: a pinned release's flat file, or a REST query.
// Needs network access; locflow retries 429/5xx itself, so Nextflow retries only on crashes.
process FETCH_UNIPROT {
    tag "${release ?: 'current'}"
    label 'process_single'
    label 'process_network'

    input:
    val release // pinned release, e.g. '2025_04'; empty to use the REST query
    val query   // REST query; empty for locflow's default (reviewed, eukaryotic, experimental)

    output:
    path 'uniprot/uniprot.*.gz', emit: entries // flat text (release, default) or REST JSON
    path 'uniprot/fetch.json',   emit: record  // what was fetched: release, query, checksums
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def release_arg = release ? "--release '${release}'" : (query ? "--query '${query}'" : '')
    """
    locflow fetch-uniprot --out uniprot ${release_arg} ${args}
    """

    stub:
    """
    mkdir -p uniprot
    echo | gzip > uniprot/uniprot.dat.gz
    echo '{}' > uniprot/fetch.json
    """
}

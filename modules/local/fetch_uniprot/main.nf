// Download UniProtKB/Swiss-Prot entries: a pinned release's flat file, or a REST query.
// Needs network access; locflow retries 429/5xx itself, so Nextflow retries only on crashes.
process FETCH_UNIPROT {
    tag "${release ?: 'current'}"
    label 'process_single'
    label 'process_network'

    input:
    val release // e.g. '2025_04'; empty to use the query (or the current release)
    val query   // REST query; used only when no release is given

    output:
    path 'uniprot/*', emit: entries
    tuple val("${task.process}"), val('locflow'), eval('locflow --version | sed "s/^locflow //"'), emit: versions_locflow, topic: versions

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
    touch uniprot/uniprot_sprot.dat.gz
    """
}

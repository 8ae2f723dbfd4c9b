// Download the Human Protein Atlas subcellular_location.tsv of one HPA version.
process FETCH_HPA {
    tag "${version ?: 'current'}"
    label 'process_single'
    label 'process_network'

    input:
    val version // HPA version, e.g. '23'; empty for locflow's default

    output:
    path 'hpa/subcellular_location.tsv', emit: locations
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def version_arg = version ? "--version '${version}'" : ''
    """
    locflow fetch-hpa --out hpa ${version_arg} ${args}
    """

    stub:
    """
    mkdir -p hpa
    touch hpa/subcellular_location.tsv
    """
}

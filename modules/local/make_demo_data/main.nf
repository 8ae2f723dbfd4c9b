// The small embedded demo data set (UniProt entries and HPA table) used by the test profile.
process MAKE_DEMO_DATA {
    label 'process_single'

    output:
    path 'demo/*.dat',                     emit: uniprot
    path 'demo/subcellular_location.tsv*', emit: hpa
    tuple val("${task.process}"), val('locflow'), eval('locflow --version | sed "s/^locflow //"'), emit: versions_locflow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    locflow make-demo-data --out demo ${args}
    """

    stub:
    """
    mkdir -p demo
    touch demo/uniprot.dat demo/subcellular_location.tsv
    """
}

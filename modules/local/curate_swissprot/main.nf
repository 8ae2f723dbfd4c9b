// Filter UniProt entries to the DeepLoc 2.0 rules and map locations to the ten classes.
process CURATE_SWISSPROT {
    tag 'swissprot'
    label 'process_medium'

    input:
    path entries, arity: '1..*', stageAs: 'entries/*' // flat text (.dat/.txt, gzipped or not) or REST JSON

    output:
    path 'proteins.parquet', emit: proteins
    path 'funnel.json',      emit: funnel
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    locflow curate-swissprot ${entries} --out proteins.parquet --funnel funnel.json ${args}
    """

    stub:
    """
    touch proteins.parquet
    echo '{}' > funnel.json
    """
}

// Keep Enhanced/Supported HPA annotations, map them to the classes, add UniProt sequences.
process CURATE_HPA {
    tag "${locations.name}"
    label 'process_low'

    input:
    path locations                           // subcellular_location.tsv[.gz]
    path uniprot, arity: '1..*', stageAs: 'uniprot/*' // UniProt entries with the sequences

    output:
    path 'hpa.parquet',      emit: proteins
    path 'hpa_funnel.json',  emit: funnel
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def uniprot_args = uniprot.collect { f -> "--uniprot ${f}" }.join(' ')
    """
    locflow curate-hpa --locations ${locations} ${uniprot_args} --out hpa.parquet --funnel hpa_funnel.json ${args}
    """

    stub:
    """
    touch hpa.parquet
    echo '{}' > hpa_funnel.json
    """
}

// The seeded synthetic demo data (UniProt entries, HPA table, FASTA) of the test profile.
process MAKE_DEMO_DATA {
    label 'process_single'

    output:
    path 'demo/uniprot_sprot.dat',         emit: uniprot
    path 'demo/subcellular_location.tsv',  emit: hpa
    path 'demo/proteome.fasta',            emit: fasta
    path 'demo/{truth.tsv,manifest.json}', emit: truth // what was planted, for checks
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions

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
    touch demo/uniprot_sprot.dat demo/subcellular_location.tsv demo/proteome.fasta
    touch demo/truth.tsv demo/manifest.json
    """
}
